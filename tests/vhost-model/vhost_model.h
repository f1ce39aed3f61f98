/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-model: a user-space stand-in for the kernel's vhost_net (Linux 6.1,
 * drivers/vhost/vhost.c and drivers/vhost/net.c), loaded with LD_PRELOAD by
 * tests on machines without /dev/vhost-net. Never linked into kvmini.
 *
 * Internal header shared by the model's files.
 */
#ifndef VHOST_MODEL_H
#define VHOST_MODEL_H

#include <linux/vhost.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* enum in drivers/vhost/net.c */
#define VM_VQ_RX 0
#define VM_VQ_TX 1
#define VM_NVQS 2

#define VM_UIO_MAXIOV 1024		/* include/uapi/linux/uio.h */
#define VM_NET_BATCH 64			/* VHOST_NET_BATCH */
#define VM_NET_WEIGHT 0x80000		/* VHOST_NET_WEIGHT */
#define VM_NET_PKT_WEIGHT 256		/* VHOST_NET_PKT_WEIGHT */
#define VM_MAX_MEM_REGIONS 64		/* vhost.c max_mem_regions default */
#define VM_PAGE_SIZE 0x1000ULL		/* VHOST_PAGE_SIZE */
/* x86_64 TASK_SIZE_MAX with 4-level paging, the limit access_ok() checks */
#define VM_TASK_SIZE_MAX 0x7ffffffff000ULL

/* VHOST_FEATURES (drivers/vhost/vhost.h) and VHOST_NET_FEATURES (net.c) */
#define VM_VHOST_FEATURES ((1ULL << VIRTIO_F_NOTIFY_ON_EMPTY) | \
			   (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
			   (1ULL << VIRTIO_RING_F_EVENT_IDX) | \
			   (1ULL << VHOST_F_LOG_ALL) | \
			   (1ULL << VIRTIO_F_ANY_LAYOUT) | \
			   (1ULL << VIRTIO_F_VERSION_1))
#define VM_NET_FEATURES (VM_VHOST_FEATURES | \
			 (1ULL << VHOST_NET_F_VIRTIO_NET_HDR) | \
			 (1ULL << VIRTIO_NET_F_MRG_RXBUF) | \
			 (1ULL << VIRTIO_F_ACCESS_PLATFORM))
#define VM_NET_BACKEND_FEATURES (1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2)

/* One entry of the memory table, as a struct vhost_iotlb_map. */
struct vm_map {
	uint64_t start, last, size, addr;
};

struct vm_umem {
	unsigned int nmaps;
	struct vm_map maps[];
};

/* struct vhost_log */
struct vm_log {
	uint64_t addr, len;
};

struct vm_dev;

struct vm_vq {
	struct vm_dev *dev;
	pthread_mutex_t mutex;
	unsigned int index;
	unsigned int num;
	uint64_t desc, avail, used;	/* user addresses, 0 = NULL */
	uint16_t last_avail_idx, avail_idx, last_used_idx;
	uint16_t used_flags, signalled_used;
	bool signalled_used_valid;
	bool log_used;
	uint64_t log_addr;
	uint64_t log_base;
	uint64_t acked_features;
	uint64_t acked_backend_features;
	unsigned int busyloop_timeout;
	/* Our own duplicates: the kernel holds file references too. */
	int kick_fd, call_fd, err_fd, log_fd;
	int backend_fd;		/* private_data: NULL <=> -1 */
	bool kick_polled, sock_polled;
	struct vm_umem *umem;
	bool iotlb;		/* VIRTIO_F_ACCESS_PLATFORM acked */
	/* struct vhost_net_virtqueue */
	size_t vhost_hlen, sock_hlen;
	unsigned int done_idx;
	struct iovec iov[VM_UIO_MAXIOV];
	struct vring_used_elem heads[VM_UIO_MAXIOV + VM_NET_BATCH];
	struct vm_log log[VM_UIO_MAXIOV + VM_NET_BATCH];
	/* A frame read from the tap but not yet delivered (handle_rx's peek). */
	uint8_t *rx_frame;
	size_t rx_len;		/* 0: none pending */
};

struct vm_dev {
	int fd;			/* the fake /dev/vhost-net fd (a memfd) */
	pthread_mutex_t mutex;	/* vhost_dev.mutex */
	pid_t owner;		/* vhost_dev.mm: 0 = no owner */
	struct vm_umem *umem;
	int log_fd;
	struct vm_vq vqs[VM_NVQS];
	/* the worker (vhost_worker) */
	bool has_worker;
	pid_t worker_pid;	/* a forked child has the table but not the thread */
	pthread_t worker;
	int epfd, ctl_fd;
	pthread_mutex_t work_lock;
	pthread_cond_t work_cond;
	uint64_t flush_req, flush_done;
	bool stop;
	unsigned int pending;	/* queued work bits, see vm_queue_work() */
};

/* interpose.c */
int vm_real_close(int fd);
int vm_real_ioctl(int fd, unsigned long req, void *arg);
void vm_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* uaccess.c: user memory accessors with the kernel's fault semantics */
bool vm_access_ok(uint64_t addr, uint64_t size);
int vm_copy_from_user(void *dst, uint64_t src, size_t len);
int vm_copy_to_user(uint64_t dst, const void *src, size_t len);
int vm_get_user16(uint16_t *v, uint64_t uaddr);
int vm_put_user16(uint16_t v, uint64_t uaddr);
void vm_writable_forget(void);
int vm_copy_to_iov(const struct iovec *iov, int cnt, size_t off, const void *src, size_t len);
int vm_eventfd_check(int fd);
void vm_eventfd_signal(int fd);
int vm_translate_desc(struct vm_vq *vq, uint64_t addr, uint32_t len,
		      struct iovec *iov, int iov_size);
int vm_log_write(uint64_t log_base, uint64_t addr, uint64_t len);

/* vring.c: split-ring helpers of vhost.c */
bool vm_has_feature(const struct vm_vq *vq, int bit);
size_t vm_avail_size(const struct vm_vq *vq, unsigned int num);
size_t vm_used_size(const struct vm_vq *vq, unsigned int num);
bool vm_vq_access_ok(struct vm_vq *vq);
bool vm_ring_access_ok(struct vm_vq *vq, unsigned int num, uint64_t d, uint64_t a, uint64_t u);
bool vm_log_used_access_ok(struct vm_vq *vq, uint64_t log_base, bool log_used, uint64_t addr);
bool vm_vq_log_access_ok(struct vm_vq *vq, uint64_t log_base);
bool vm_memory_access_ok(struct vm_dev *d, struct vm_umem *umem, bool log_all);
void vm_vq_err(struct vm_vq *vq, const char *what);
int vm_vq_init_access(struct vm_vq *vq);
int vm_get_vq_desc(struct vm_vq *vq, struct iovec *iov, unsigned int iov_size,
		   unsigned int *out_num, unsigned int *in_num,
		   struct vm_log *log, unsigned int *log_num);
bool vm_vq_avail_empty(struct vm_vq *vq);
void vm_discard_vq_desc(struct vm_vq *vq, int n);
int vm_add_used_n(struct vm_vq *vq, struct vring_used_elem *heads, unsigned int count);
void vm_signal(struct vm_vq *vq);
bool vm_enable_notify(struct vm_vq *vq);
void vm_disable_notify(struct vm_vq *vq);
void vm_log_desc_write(struct vm_vq *vq, struct vm_log *log, unsigned int log_num,
		       uint64_t len);

/* worker.c: vhost_worker and the vhost_poll machinery */
int vm_worker_start(struct vm_dev *d);
void vm_worker_stop(struct vm_dev *d);
void vm_dev_flush(struct vm_dev *d);
void vm_poll_kick(struct vm_vq *vq, bool on);
int vm_poll_sock(struct vm_vq *vq, bool on);
void vm_queue_work(struct vm_vq *vq);

/* net.c: handle_tx / handle_rx */
void vm_handle_tx(struct vm_dev *d);
void vm_handle_rx(struct vm_dev *d);
int vm_net_rx_alloc(struct vm_vq *vq);

/* dev.c: the ioctls */
struct vm_dev *vm_dev_open(int fd);
void vm_dev_release(struct vm_dev *d);
long vm_dev_ioctl(struct vm_dev *d, unsigned long req, void *arg);
bool vm_same_file(int a, int b);

/* vring_ioctl.c: vhost_vring_ioctl() */
#define VM_ENOIOCTLCMD 515	/* include/linux/errno.h; vfs_ioctl() makes it ENOTTY */
long vm_vring_ioctl(struct vm_dev *d, unsigned long req, uint64_t argp);

#endif
