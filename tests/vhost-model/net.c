// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-model: the datapath of drivers/vhost/net.c (6.1), copy mode only:
 * handle_tx() sends each available chain to the backend with writev(),
 * handle_rx() delivers frames from the backend into guest buffers, merging
 * buffers under VIRTIO_NET_F_MRG_RXBUF. vhost_hlen/sock_hlen decide who owns
 * the virtio-net header, as vhost_net_set_features() computed them.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tests/vhost-model/vhost_model.h"

#define RX_FRAME_MAX (65536 + 256)

/* vhost_exceeds_weight(): requeue ourselves rather than starve the other vq */
static bool exceeds_weight(struct vm_vq *vq, int pkts, size_t total_len)
{
	if (total_len >= VM_NET_WEIGHT || pkts >= VM_NET_PKT_WEIGHT) {
		vm_queue_work(vq);
		return true;
	}
	return false;
}

/* vhost_net_signal_used() */
static void signal_used(struct vm_vq *vq)
{
	if (!vq->done_idx)
		return;
	vm_add_used_n(vq, vq->heads, vq->done_idx);
	vm_signal(vq);
	vq->done_idx = 0;
}

static size_t iov_length(const struct iovec *iov, unsigned int n)
{
	size_t len = 0;

	while (n--)
		len += iov[n].iov_len;
	return len;
}

/* Skip the first skip bytes of iov[0..n) into out[]; returns the count. */
static int iov_advance(const struct iovec *iov, unsigned int n, size_t skip,
		       struct iovec *out)
{
	unsigned int i;
	int k = 0;

	for (i = 0; i < n; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		out[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
		out[k].iov_len = iov[i].iov_len - skip;
		skip = 0;
		k++;
	}
	return k;
}

/* get_tx_bufs(): a head, vq->num for none, or -errno */
static int get_tx_bufs(struct vm_vq *vq, unsigned int *out, size_t *len)
{
	unsigned int in;
	int ret;

	ret = vm_get_vq_desc(vq, vq->iov, VM_UIO_MAXIOV, out, &in, NULL, NULL);
	if (ret < 0 || ret == (int)vq->num)
		return ret;
	if (in) {
		vm_vq_err(vq, "Unexpected descriptor format for TX");
		return -EFAULT;
	}
	/* init_iov_iter(): the guest's header is skipped if vhost owns it */
	*len = iov_length(vq->iov, *out);
	*len = *len > vq->vhost_hlen ? *len - vq->vhost_hlen : 0;
	if (*len == 0) {
		vm_vq_err(vq, "Unexpected header len for TX");
		return -EFAULT;
	}
	return ret;
}

/* handle_tx() + handle_tx_copy() */
void vm_handle_tx(struct vm_dev *d)
{
	static __thread struct iovec msg[VM_UIO_MAXIOV];
	struct vm_vq *vq = &d->vqs[VM_VQ_TX];
	size_t len, total_len = 0;
	int sent_pkts = 0;
	unsigned int out;
	int head, n;
	ssize_t err;

	pthread_mutex_lock(&vq->mutex);
	/* no backend; or a device IOTLB, whose misses the model never serves */
	if (vq->backend_fd < 0 || vq->iotlb)
		goto out;
	vm_disable_notify(vq);
	vm_poll_sock(vq, false);
	do {
		if (vq->done_idx == VM_NET_BATCH)
			signal_used(vq);
		head = get_tx_bufs(vq, &out, &len);
		/* on error, stop handling until the next kick */
		if (head < 0)
			break;
		if (head == (int)vq->num) {
			if (vm_enable_notify(vq)) {
				vm_disable_notify(vq);
				continue;
			}
			break;
		}
		total_len += len;
		n = iov_advance(vq->iov, out, vq->vhost_hlen, msg);
		err = writev(vq->backend_fd, msg, n);
		if (err < 0 && (errno == EAGAIN || errno == ENOMEM || errno == ENOBUFS)) {
			vm_discard_vq_desc(vq, 1);
			vm_poll_sock(vq, true);
			break;
		}
		if (err < 0 || (size_t)err != len)
			vm_logf("tx: vq=%u dropped frame of %zu bytes (%zd)", vq->index, len,
				err < 0 ? -errno : err);
		vq->heads[vq->done_idx].id = head;
		vq->heads[vq->done_idx].len = 0;
		++vq->done_idx;
	} while (!exceeds_weight(vq, ++sent_pkts, total_len));
	/* vhost_tx_batch() */
	signal_used(vq);
out:
	pthread_mutex_unlock(&vq->mutex);
}

/* The virtio-net header size the backend puts in front of frames. */
static size_t backend_hdr_len(int fd)
{
	struct ifreq ifr;
	int sz;

	memset(&ifr, 0, sizeof(ifr));
	if (vm_real_ioctl(fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_VNET_HDR))
		return 0;
	if (vm_real_ioctl(fd, TUNGETVNETHDRSZ, &sz) < 0)
		return 0;
	return sz;
}

/*
 * peek_head_len(): the length of the next frame, without the backend's
 * header, 0 if none. The kernel peeks the socket queue; a user-space reader
 * cannot peek a tap, so the frame is read now and kept in vq->rx_frame until
 * it is delivered (vhost_net_buf_produce() also takes frames off the tap's
 * ring ahead of delivery).
 */
static size_t peek_head_len(struct vm_vq *vq, size_t *bk_hlen)
{
	struct pollfd pfd = { .fd = vq->backend_fd, .events = POLLIN };
	ssize_t r;

	*bk_hlen = backend_hdr_len(vq->backend_fd);
	if (!vq->rx_len) {
		if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
			return 0;
		r = read(vq->backend_fd, vq->rx_frame, RX_FRAME_MAX);
		if (r <= 0)
			return 0;
		vq->rx_len = r;
	}
	return vq->rx_len > *bk_hlen ? vq->rx_len - *bk_hlen : 0;
}

/* get_rx_bufs(): heads for datalen bytes; > VM_UIO_MAXIOV on overrun */
static int get_rx_bufs(struct vm_vq *vq, struct vring_used_elem *heads, int datalen,
		       unsigned int *iovcount, struct vm_log *log, unsigned int *log_num,
		       unsigned int quota)
{
	unsigned int out, in, seg = 0, nlogs = 0;
	int headcount = 0, r;
	uint32_t len = 0;

	while (datalen > 0 && headcount < (int)quota) {
		if (seg >= VM_UIO_MAXIOV) {
			r = -ENOBUFS;
			goto err;
		}
		r = vm_get_vq_desc(vq, vq->iov + seg, VM_UIO_MAXIOV - seg, &out, &in,
				   log, log_num);
		if (r < 0)
			goto err;
		if (r == (int)vq->num) {
			r = 0;
			goto err;
		}
		if (out || in <= 0) {
			vm_vq_err(vq, "unexpected descriptor format for RX");
			r = -EINVAL;
			goto err;
		}
		if (log) {
			nlogs += *log_num;
			log += *log_num;
		}
		heads[headcount].id = r;
		len = iov_length(vq->iov + seg, in);
		heads[headcount].len = len;
		datalen -= len;
		++headcount;
		seg += in;
	}
	heads[headcount - 1].len = len + datalen;
	*iovcount = seg;
	if (log)
		*log_num = nlogs;
	if (datalen > 0) {
		r = VM_UIO_MAXIOV + 1;
		goto err;
	}
	return headcount;
err:
	vm_discard_vq_desc(vq, headcount);
	return r;
}

/*
 * tun_put_user() writes the struct virtio_net_hdr part of the backend's
 * header and skips the rest of vnet_hdr_sz, leaving those guest bytes as
 * they were; then the frame.
 */
static int copy_frame(struct vm_vq *vq, unsigned int in, size_t off, size_t bk_hlen,
		      size_t got)
{
	size_t h = bk_hlen < sizeof(struct virtio_net_hdr) ? bk_hlen : sizeof(struct virtio_net_hdr);

	if (vm_copy_to_iov(vq->iov, in, off, vq->rx_frame, h))
		return -EFAULT;
	return vm_copy_to_iov(vq->iov, in, off + bk_hlen, vq->rx_frame + bk_hlen, got - bk_hlen);
}

/* handle_rx() */
void vm_handle_rx(struct vm_dev *d)
{
	struct vm_vq *vq = &d->vqs[VM_VQ_RX];
	struct virtio_net_hdr hdr = { .flags = 0, .gso_type = VIRTIO_NET_HDR_GSO_NONE };
	size_t vhost_hlen, sock_hlen, vhost_len, sock_len = 0, bk_hlen, total_len = 0;
	unsigned int in, log = 0;
	struct vm_log *vq_log;
	int headcount, recv_pkts = 0;
	bool mergeable;
	uint16_t num_buffers;

	pthread_mutex_lock(&vq->mutex);
	if (vq->backend_fd < 0 || vq->iotlb)
		goto out;
	vm_disable_notify(vq);
	vm_poll_sock(vq, false);
	vhost_hlen = vq->vhost_hlen;
	sock_hlen = vq->sock_hlen;
	vq_log = vm_has_feature(vq, VHOST_F_LOG_ALL) ? vq->log : NULL;
	mergeable = vm_has_feature(vq, VIRTIO_NET_F_MRG_RXBUF);
	do {
		size_t got;

		sock_len = peek_head_len(vq, &bk_hlen);
		if (!sock_len)
			break;
		sock_len += sock_hlen;
		vhost_len = sock_len + vhost_hlen;
		headcount = get_rx_bufs(vq, vq->heads + vq->done_idx, vhost_len, &in,
					vq_log, &log, mergeable ? VM_UIO_MAXIOV : 1);
		if (headcount < 0)
			goto out;
		if (!headcount) {
			if (vm_enable_notify(vq)) {
				/* they slipped one in: check again */
				vm_disable_notify(vq);
				continue;
			}
			/* the frame stays queued until the guest refills */
			goto out;
		}
		if (headcount > VM_UIO_MAXIOV) {
			/* on overrun, truncate and discard */
			vm_logf("rx: vq=%u discarded frame of %zu bytes", vq->index, sock_len);
			vq->rx_len = 0;
			continue;
		}
		/*
		 * recvmsg() into the buffers past vhost_hlen: the backend's frame
		 * with its own header, which must be exactly sock_len bytes.
		 */
		got = vq->rx_len;
		vq->rx_len = 0;
		if (got != sock_len || copy_frame(vq, in, vhost_hlen, bk_hlen, got)) {
			vm_logf("rx: vq=%u discarded frame: %zu bytes, expected %zu",
				vq->index, got, sock_len);
			vm_discard_vq_desc(vq, headcount);
			continue;
		}
		if (vhost_hlen && vm_copy_to_iov(vq->iov, in, 0, &hdr, sizeof(hdr))) {
			vm_vq_err(vq, "Unable to write vnet_hdr");
			goto out;
		}
		/* num_buffers follows the struct virtio_net_hdr part */
		num_buffers = headcount;
		if (mergeable && vm_copy_to_iov(vq->iov, in, sizeof(hdr), &num_buffers,
						sizeof(num_buffers))) {
			vm_vq_err(vq, "Failed num_buffers write");
			vm_discard_vq_desc(vq, headcount);
			goto out;
		}
		vq->done_idx += headcount;
		if (vq->done_idx > VM_NET_BATCH)
			signal_used(vq);
		if (vq_log)
			vm_log_desc_write(vq, vq_log, log, vhost_len);
		total_len += vhost_len;
	} while (!exceeds_weight(vq, ++recv_pkts, total_len));
	if (!sock_len)
		vm_poll_sock(vq, true);
out:
	signal_used(vq);
	pthread_mutex_unlock(&vq->mutex);
}

/* The RX bounce buffer for one frame. */
int vm_net_rx_alloc(struct vm_vq *vq)
{
	vq->rx_frame = malloc(RX_FRAME_MAX);
	return vq->rx_frame ? 0 : -ENOMEM;
}
