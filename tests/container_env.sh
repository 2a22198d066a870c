#!/bin/sh
# tests/container_env.sh SIM PYTHON CMD...: run CMD as root in a Gradescope-like container, without Docker.
#
# In a private mount namespace (so nothing here changes this machine): the folder SIM at /srv (the fake
# /autograder is /srv/autograder), SIM/etc over /etc (a copy: the student's user that setup.sh adds goes
# there, never into this machine's /etc), and /root covered by an open tmpfs that holds only pyenv (as an
# image's /usr/bin/python3, pyenv's Pythons can then be run by other users). Then PYTHON runs
# tests/dockerlike.py, which takes away what Docker takes away (CAP_SYS_ADMIN and more, namespaces by
# seccomp) and execs CMD. Needs root, unshare and setpriv (util-linux); the tests skip without them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sim=$1; python=$2; shift 2
exec unshare --mount --propagation private -- sh -eu -c '
sim=$1; python=$2; here=$3; shift 3
mount --bind "$sim" /srv
mount --bind /srv/etc /etc
if [ -d /root/.pyenv ]; then
    mount --bind /root/.pyenv /srv/pyenv
    mount -t tmpfs -o mode=0755,size=1m tmpfs /root
    mkdir /root/.pyenv
    mount --bind /srv/pyenv /root/.pyenv
fi
exec "$python" "$here/dockerlike.py" "$@"
' container_env "$sim" "$python" "$here" "$@"
