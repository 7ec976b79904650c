#!/bin/sh
# The agent DaemonSet's init container: install the contivpy CNI plugin on the node.
#
# In: the contivpy package installed in this image (python), the network configuration
# ($CONFLIST), the host's CNI directories mounted at $CNI_BIN_DIR and $CNI_NET_DIR. Out:
# $CNI_BIN_DIR/contivpy, the plugin the kubelet execs for every pod (the conflist's "type"), and
# $CNI_NET_DIR/10-contivpy.conflist. Each file is written beside its target and renamed over it,
# so the kubelet never reads half of one.
#
# The kubelet runs the plugin on the host, outside this image, so the plugin cannot be the
# image's `contivpy cni` console script. It is a zip application of the plugin's own modules
# (contivpy.cni uses the standard library only: its own gRPC client, no grpclib), which needs
# nothing on the host but python3 (3.10 or newer).
#
# Generated into ConfigMap contivpy-cni by scripts/gen-kube-config; tested by
# tests/deploy/test_install_cni.py.
set -eu
PYTHON="${PYTHON:-python}"
CNI_BIN_DIR="${CNI_BIN_DIR:-/host/opt/cni/bin}"
CNI_NET_DIR="${CNI_NET_DIR:-/host/etc/cni/net.d}"
CONFLIST="${CONFLIST:-/etc/contivpy/cni/10-contivpy.conflist}"

package=$("$PYTHON" -c 'import contivpy, os; print(os.path.dirname(contivpy.__file__))')
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/contivpy" "$stage/contivpy/cni"
cp "$package/__init__.py" "$package/errors.py" "$stage/contivpy/"
cp "$package"/cni/*.py "$stage/contivpy/cni/"
# Not zipapp's --main: the code it generates drops main()'s return value, the exit code.
printf 'import sys\n\nfrom contivpy.cni.plugin import main\n\nsys.exit(main())\n' \
    >"$stage/__main__.py"
# Compiled beside each source (-b: where zipimport looks; it cannot write a cache itself), so
# the kubelet's every exec does not compile the plugin again (~15 ms of a ~30 ms start);
# unchecked-hash: not compared with the sources' times, which the archive keeps in local time
# (the host's time zone may not be this image's). A host Python of another version ignores
# them and compiles the sources.
"$PYTHON" -m compileall -q -b --invalidation-mode unchecked-hash "$stage"

mkdir -p "$CNI_BIN_DIR" "$CNI_NET_DIR"
"$PYTHON" -m zipapp "$stage" --python "/usr/bin/env python3" --output "$CNI_BIN_DIR/.contivpy.new"
mv -f "$CNI_BIN_DIR/.contivpy.new" "$CNI_BIN_DIR/contivpy"
cp "$CONFLIST" "$CNI_NET_DIR/.10-contivpy.conflist.new"
mv -f "$CNI_NET_DIR/.10-contivpy.conflist.new" "$CNI_NET_DIR/10-contivpy.conflist"
echo "installed $CNI_BIN_DIR/contivpy and $CNI_NET_DIR/10-contivpy.conflist"
