#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Raw TCP/TLS clients that misbehave, for the gateway's limit tests
(standard library only, loopback only). Each command prints one line of
result and exits 0; the calling test decides what is right.

  silent PORT N SRC HOLD      N TCP connections from SRC that never send a
                              byte, held HOLD seconds, then closed; prints
                              how many the server closed first
  slowloris PORT SRC CA       TLS, then header bytes one every 0.3 s;
                              prints the seconds until the server closed
  halfhello PORT SRC          the first 40 bytes of a TLS ClientHello, then
                              silence; prints the seconds until closed
  raw PORT CA REQUEST-HEX     sends the request over TLS, prints the status
                              line of the answer
  upload PORT CA SIZE MB TOKEN  POST /api/v1/releases declaring SIZE bytes,
                              streams up to MB MiB; prints the status line
                              and the bytes the server took before answering
"""
import socket
import ssl
import sys
import time


def tls(port, src, ca):
    ctx = ssl.create_default_context(cafile=ca)
    s = socket.create_connection(('127.0.0.1', port), timeout=10, source_address=(src, 0))
    return ctx.wrap_socket(s, server_hostname='127.0.0.1')


def closed_within(sock, limit):
    """Seconds until the peer closes sock (reads return EOF or error)."""
    t0 = time.time()
    sock.settimeout(0.2)
    while time.time() - t0 < limit:
        try:
            if not sock.recv(4096):
                break
        except socket.timeout:
            continue
        except OSError:
            break
    return time.time() - t0


def status_line(t):
    t.settimeout(10)
    buf = b''
    try:
        while b'\r\n' not in buf:
            d = t.recv(4096)
            if not d:
                break
            buf += d
    except OSError:
        pass
    return buf.split(b'\r\n')[0].decode(errors='replace') or '<closed>'


def main(a):
    cmd = a[0]
    port = int(a[1])
    if cmd == 'silent':
        n, src, hold = int(a[2]), a[3], float(a[4])
        socks = []
        for _ in range(n):
            s = socket.socket()
            s.bind((src, 0))
            try:
                s.connect(('127.0.0.1', port))
            except OSError:
                break
            s.setblocking(False)
            socks.append(s)
        time.sleep(hold)
        gone = 0
        for s in socks:
            try:
                if s.recv(1) == b'':
                    gone += 1
            except BlockingIOError:
                pass
            except OSError:
                gone += 1
            s.close()
        print(f'opened {len(socks)} closed-by-server {gone}')
    elif cmd == 'slowloris':
        t = tls(port, a[2], a[3])
        req = b'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n' + b'X-Slow: 1\r\n' * 200
        t0 = time.time()
        for ch in req:
            try:
                t.send(bytes([ch]))
            except OSError:
                break
            if time.time() - t0 > 30:
                break
            time.sleep(0.3)
        print(f'{time.time() - t0:.1f}')
    elif cmd == 'halfhello':
        s = socket.create_connection(('127.0.0.1', port), timeout=10, source_address=(a[2], 0))
        s.send(bytes.fromhex('16030100f4010000f00303') + b'\0' * 29)
        print(f'{closed_within(s, 30):.1f}')
    elif cmd == 'raw':
        t = tls(port, '127.0.0.1', a[2])
        t.send(bytes.fromhex(a[3]))
        print(status_line(t))
    elif cmd == 'upload':
        ca, size, mib, token = a[2], int(a[3]), int(a[4]), a[5]
        t = tls(port, '127.0.0.1', ca)
        h = b'POST /api/v1/releases HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n' % size
        if token != '-':
            h += b'Authorization: Bearer ' + token.encode() + b'\r\n'
        t.send(h + b'\r\n')
        sent = 0
        t.settimeout(1)
        try:
            while sent < mib << 20:
                sent += t.send(b'\0' * 65536)
        except OSError:
            pass
        print(status_line(t), sent)
    else:
        sys.exit(f'rawclient: unknown command {cmd}')


if __name__ == '__main__':
    main(sys.argv[1:])
