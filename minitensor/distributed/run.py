"""`python -m minitensor.distributed.run --nproc-per-node N script.py args...`: torchrun's
interface on one host.

Starts N copies of the script (or of `-m module`) with RANK, LOCAL_RANK, WORLD_SIZE,
LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set (a free port unless --master-port is
given), waits for them, and when one fails terminates the others and exits non-zero
with a message naming the rank, so a dead rank never leaves the rest waiting.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import time


def reserve_port(host='127.0.0.1'):
    """(port, socket): a free port, held bound (not listening) until the ranks are done, so
    no other program, nor an outgoing connection's ephemeral port, takes it before rank 0's
    store listens on it (SO_REUSEPORT lets that one bind beside this reservation)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if hasattr(socket, 'SO_REUSEPORT'):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((host, 0))
    return s.getsockname()[1], s


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog='python -m minitensor.distributed.run',
        description="Start N training processes on this host (torchrun's interface).")
    p.add_argument('--nproc-per-node', '--nproc_per_node', type=int, default=1,
                   help='how many processes (ranks) to start; usually one per GPU')
    p.add_argument('--nnodes', type=int, default=1, help='only 1 (one host) is supported')
    p.add_argument('--node-rank', '--node_rank', type=int, default=0, help='only 0 is supported')
    p.add_argument('--master-addr', '--master_addr', default='127.0.0.1',
                   help="address rank 0's store listens on")
    p.add_argument('--master-port', '--master_port', type=int, default=None,
                   help='port of the store (default: a free port)')
    p.add_argument('--standalone', action='store_true', help='accepted, as torchrun (one host)')
    p.add_argument('--grace-period', type=float, default=5.0,
                   help='seconds the other ranks get to exit after SIGTERM before SIGKILL')
    p.add_argument('-m', '--module', action='store_true',
                   help='run the target as a module (python -m target) instead of a script')
    p.add_argument('target', help='the training script (or module, with -m)')
    p.add_argument('args', nargs=argparse.REMAINDER, help="the script's own arguments")
    args = p.parse_args(argv)
    if args.nnodes != 1 or args.node_rank != 0:
        p.error("only one host is supported (--nnodes 1); for several hosts use mpiexec")
    if args.nproc_per_node < 1:
        p.error(f"--nproc-per-node must be at least 1, got {args.nproc_per_node}")
    return args


def describe_exit(code):
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def start(args, port):
    n = args.nproc_per_node
    command = [sys.executable, '-u'] + (['-m'] if args.module else []) + [args.target] + args.args
    procs = []
    for rank in range(n):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(n),
                   LOCAL_WORLD_SIZE=str(n), GROUP_RANK='0', MASTER_ADDR=args.master_addr,
                   MASTER_PORT=str(port))
        procs.append(subprocess.Popen(command, env=env))
    return procs


def terminate(procs, grace_period):
    """SIGTERM every live rank, then SIGKILL those still alive after the grace period."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + grace_period
    for p in procs:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def supervise(procs, grace_period):
    """Wait for all ranks; the first failure ends the others. Returns the exit code."""
    while True:
        running = False
        for rank, p in enumerate(procs):
            code = p.poll()
            if code is None:
                running = True
            elif code != 0:
                print(f"minitensor.distributed.run: rank {rank} (pid {p.pid}) {describe_exit(code)}; "
                      f"terminating the other ranks", file=sys.stderr, flush=True)
                terminate(procs, grace_period)
                return code if code > 0 else 128 - code
        if not running:
            return 0
        time.sleep(0.1)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    port, reservation = (args.master_port, None) if args.master_port else reserve_port(args.master_addr)
    procs = start(args, port)

    def forward(signum, frame):   # Ctrl-C or a scheduler's SIGTERM reaches every rank
        terminate(procs, args.grace_period)
        sys.exit(128 + signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        return supervise(procs, args.grace_period)
    finally:
        if reservation is not None:
            reservation.close()


if __name__ == '__main__':
    sys.exit(main())
