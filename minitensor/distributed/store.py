"""TCPStore: a small key-value store over one TCP socket, as torch.distributed.TCPStore.

Rank 0 hosts it (a server thread in its process) on MASTER_ADDR:MASTER_PORT; every
rank, rank 0 included, talks to it as a client. Ranks meet through it: the NCCL unique
id is published there, barriers count there, and the 'gloo' CPU backend moves its
arrays through it. A get() waits for its key at most `timeout` seconds, so a rank that
died makes the others fail with a message instead of waiting forever.

Wire format (all integers little-endian): a request is
op (1 byte) | key length (4) | key | value length (8) | value, and the answer is
status (1 byte) | length (8) | payload.
"""
import atexit
import socket
import struct
import threading
import time
from datetime import timedelta

_SET, _GET, _ADD, _DELETE, _CHECK, _NUM_KEYS = range(1, 7)
_OK, _TIMEOUT = 0, 1
_HEADER = struct.Struct('<BI')        # op, key length
_LENGTH = struct.Struct('<Q')
_REPLY = struct.Struct('<BQ')          # status, payload length
_INT = struct.Struct('<q')


def _seconds(timeout):
    return timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)


def _recv_exactly(sock, n):
    """n bytes from sock (large values arrive in many pieces)."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise ConnectionError("connection closed by the peer")
        got += k
    return buf


class _Server:
    """The store's data and one thread per connected client."""

    def __init__(self, host, port):
        self.data = {}
        self.clients = 0               # open connections; the host waits for them at close
        self.cond = threading.Condition()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, 'SO_REUSEPORT'):    # beside the launcher's reservation of the port
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            self.listener.bind((host, port))
        except OSError as e:
            self.listener.close()
            raise RuntimeError(f"TCPStore: cannot listen on {host}:{port} ({e}); choose a free "
                               f"MASTER_PORT (the launcher picks one when --master-port is not given)") from None
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, name='TCPStore-accept', daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:            # listener closed: the store shut down
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), name='TCPStore-client', daemon=True).start()

    def _serve(self, conn):
        with self.cond:
            self.clients += 1
        try:
            while True:
                op, key_len = _HEADER.unpack(_recv_exactly(conn, _HEADER.size))
                key = bytes(_recv_exactly(conn, key_len)).decode()
                (value_len,) = _LENGTH.unpack(_recv_exactly(conn, _LENGTH.size))
                value = _recv_exactly(conn, value_len) if value_len else b''
                status, payload = self._handle(op, key, value)
                conn.sendall(_REPLY.pack(status, len(payload)))
                if payload:
                    conn.sendall(payload)
        except (ConnectionError, OSError):
            pass                       # the client went away
        finally:
            conn.close()
            with self.cond:
                self.clients -= 1
                self.cond.notify_all()

    def _handle(self, op, key, value):
        with self.cond:
            if op == _SET:
                self.data[key] = bytes(value)
                self.cond.notify_all()
                return _OK, b''
            if op == _GET:             # value holds the wait limit in seconds (a double)
                (limit,) = struct.unpack('<d', value)
                if not self.cond.wait_for(lambda: key in self.data, timeout=limit):
                    return _TIMEOUT, b''
                return _OK, self.data[key]
            if op == _ADD:
                total = _INT.unpack(self.data.get(key, _INT.pack(0)))[0] + _INT.unpack(value)[0]
                self.data[key] = _INT.pack(total)
                self.cond.notify_all()
                return _OK, self.data[key]
            if op == _DELETE:
                return _OK, b'\x01' if self.data.pop(key, None) is not None else b'\x00'
            if op == _CHECK:
                return _OK, b'\x01' if key in self.data else b'\x00'
            if op == _NUM_KEYS:
                return _OK, _INT.pack(len(self.data))
        raise ConnectionError(f"unknown store op {op}")

    def close(self, timeout):
        """Stop serving once every client has disconnected (or after timeout): a rank that
        finishes first must not take the store away from ranks still reading from it."""
        with self.cond:
            self.cond.wait_for(lambda: self.clients == 0, timeout=timeout)
        self.listener.close()


class TCPStore:
    """Key-value store shared by all ranks: set/get/add/wait/delete_key/check/num_keys.

    TCPStore(host, port, world_size=None, is_master=False, timeout=timedelta(minutes=5)):
    the master (rank 0) listens on host:port (port 0 picks a free one, see .port);
    every instance connects as a client, retrying until `timeout` while the master starts.
    """

    def __init__(self, host_name, port, world_size=None, is_master=False,
                 timeout=timedelta(minutes=5)):
        self.host, self.world_size = host_name, world_size
        self.timeout = _seconds(timeout)
        self._server = _Server(host_name, port) if is_master else None
        self.port = self._server.port if is_master else int(port)
        self._lock = threading.Lock()
        self._sock = self._connect()
        if is_master:                  # also when the script ends without destroy_process_group
            atexit.register(self.close)

    def _connect(self):
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except OSError as e:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"TCPStore: could not reach the store at {self.host}:{self.port} within "
                        f"{self.timeout:.0f} s ({e}); is rank 0 running, and are MASTER_ADDR/"
                        f"MASTER_PORT the same on every rank?") from None
                time.sleep(0.05)

    def _request(self, op, key, value=b'', wait=None):
        key_bytes = key.encode()
        with self._lock:
            try:
                self._sock.settimeout(self.timeout + 30 if wait is not None else self.timeout)
                self._sock.sendall(_HEADER.pack(op, len(key_bytes)) + key_bytes + _LENGTH.pack(len(value)))
                if value:
                    self._sock.sendall(value)
                status, length = _REPLY.unpack(_recv_exactly(self._sock, _REPLY.size))
                payload = bytes(_recv_exactly(self._sock, length)) if length else b''
            except (ConnectionError, OSError) as e:
                raise RuntimeError(
                    f"TCPStore: lost the connection to the store at {self.host}:{self.port} "
                    f"({type(e).__name__}: {e}); rank 0, which hosts it, has probably exited or "
                    f"died") from None
        if status == _TIMEOUT:
            raise RuntimeError(
                f"TCPStore: timed out after {wait:.0f} s waiting for key {key!r}; another rank "
                f"has probably died or is not calling the same collective (every rank must make "
                f"the same calls in the same order)")
        return payload

    # ------------------------------------------------------------ torch's methods

    def set(self, key, value):
        """value: str, bytes or any C-contiguous buffer (a NumPy array is sent without a copy)."""
        self._request(_SET, key, value.encode() if isinstance(value, str) else memoryview(value).cast('B'))

    def get(self, key, timeout=None):
        """The value of key as bytes, waiting until some rank sets it."""
        limit = self.timeout if timeout is None else _seconds(timeout)
        return self._request(_GET, key, struct.pack('<d', limit), wait=limit)

    def add(self, key, amount):
        """Atomically add amount to the integer at key (0 if absent); returns the new value."""
        return _INT.unpack(self._request(_ADD, key, _INT.pack(int(amount))))[0]

    def wait(self, keys, timeout=None):
        for key in keys:
            self.get(key, timeout)

    def check(self, keys):
        return all(self._request(_CHECK, k) == b'\x01' for k in keys)

    def delete_key(self, key):
        return self._request(_DELETE, key) == b'\x01'

    def num_keys(self):
        return _INT.unpack(self._request(_NUM_KEYS, ''))[0]

    def close(self):
        """Disconnect; the master then waits for the other ranks to disconnect too."""
        self._sock.close()
        server, self._server = self._server, None
        if server is not None:
            server.close(self.timeout)
