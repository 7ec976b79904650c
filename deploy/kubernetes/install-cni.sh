#!/bin/sh
# The agent DaemonSet's init container: install the contivpy CNI plugin on the node.
#
# In: the contivpy package installed in this image (python), the compiled plugin the image's
# build stage made ($COMPILED, deploy/Dockerfile), the network configuration ($CONFLIST), the
# host's CNI directories mounted at $CNI_BIN_DIR and $CNI_NET_DIR. Out: $CNI_BIN_DIR/contivpy,
# the plugin the kubelet execs for every pod (the conflist's "type"), $CNI_BIN_DIR/contivpy.pyz
# beside it, and $CNI_NET_DIR/10-contivpy.conflist, each written beside its target and renamed
# over it, so the kubelet never reads half of one (`contivpy install-cni`, contivpy/cni_install.py).
#
# The kubelet runs the plugin on the host, outside this image, so the plugin cannot be the
# image's `contivpy cni` console script. The compiled plugin is statically linked and needs
# nothing on the host; for what it hands over (bad input, an agent away) it runs contivpy.pyz,
# a zip application of the plugin's own modules that needs the host's python3 (3.10 or
# newer). An image built without the compiled plugin installs contivpy.pyz's content alone.
#
# Generated into ConfigMap contivpy-cni by scripts/gen-kube-config; tested by
# tests/deploy/test_install_cni.py.
set -eu
PYTHON="${PYTHON:-python}"
CNI_BIN_DIR="${CNI_BIN_DIR:-/host/opt/cni/bin}"
CNI_NET_DIR="${CNI_NET_DIR:-/host/etc/cni/net.d}"
CONFLIST="${CONFLIST:-/etc/contivpy/cni/10-contivpy.conflist}"
COMPILED="${COMPILED:-/usr/local/lib/contivpy/contivpy-cni}"

set -- --bin-dir "$CNI_BIN_DIR" --net-dir "$CNI_NET_DIR" --conflist "$CONFLIST"
if [ -f "$COMPILED" ]; then
    set -- "$@" --compiled "$COMPILED"
else
    set -- "$@" --python-only
fi
exec "$PYTHON" -m contivpy.cni_install install "$@"
