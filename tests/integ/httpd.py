#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A small HTTP server for tests, on 127.0.0.1: serves files of a directory
with Range requests (206) and can break a transfer on purpose.

usage: httpd.py DIR PORTFILE [--drop-after N] [--drops K] [--drop-skip S]
                  [--no-range] [--range-lie] [--range-short N] [--tls CERT KEY]
  --drop-after N  close the connection after N body bytes of a response,
                  for the first K responses (default 1) after the first S
                  (default 0), which are served whole
  --no-range      ignore Range headers (answer 200 with the whole file)
  --range-lie     answer a Range with the bytes one further on, labelled as
                  the ones asked for (a server returning wrong ranges)
  --range-short N answer a bounded Range with N bytes fewer (a truncated range)
  --tls CERT KEY  serve https with this certificate and key
A path ending in hostile-MODE gets a hostile answer (hostile_http.py).
Writes the port it listens on to PORTFILE, serves until killed, and logs one
line per request to stderr: METHOD PATH RANGE STATUS BYTES."""
import http.server
import os
import re
import ssl
import sys

import hostile_http


def main():
    root, portfile = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    drop_after = int(args[args.index('--drop-after') + 1]) if '--drop-after' in args else None
    drops = [int(args[args.index('--drops') + 1]) if '--drops' in args else 1]
    skip = [int(args[args.index('--drop-skip') + 1]) if '--drop-skip' in args else 0]
    no_range = '--no-range' in args
    range_lie = '--range-lie' in args
    range_short = int(args[args.index('--range-short') + 1]) if '--range-short' in args else 0

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, fmt, *a):
            pass

        def do_GET(self):
            if hostile_http.handle(self):
                return
            path = os.path.join(root, os.path.basename(self.path.split('?')[0]))
            if not os.path.isfile(path):
                self.send_error(404)
                return
            size = os.path.getsize(path)
            start, end, status = 0, size - 1, 200
            rng = self.headers.get('Range')
            m = re.match(r'bytes=(\d+)-(\d*)$', rng or '')
            if m and not no_range:
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else size - 1
                if start >= size:
                    self.send_response(416)
                    self.send_header('Content-Range', 'bytes */%d' % size)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                status = 206
                if range_short and m.group(2):
                    end = max(start, end - range_short)
            length = end - start + 1
            shift = 1 if range_lie and status == 206 and end + 1 < size else 0
            self.send_response(status)
            self.send_header('Content-Length', str(length))
            self.send_header('Accept-Ranges', 'none' if no_range else 'bytes')
            if status == 206:
                self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, end, size))
            self.end_headers()
            limit = length
            if drop_after is not None and skip[0] > 0:
                skip[0] -= 1
            elif drop_after is not None and drops[0] > 0:
                drops[0] -= 1
                limit = min(length, drop_after)
            sent = 0
            with open(path, 'rb') as f:
                f.seek(start + shift)
                while sent < limit:
                    chunk = f.read(min(65536, limit - sent))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    sent += len(chunk)
            sys.stderr.write('GET %s %s %d %d\n' % (self.path, rng or '-', status, sent))
            sys.stderr.flush()
            if sent < length:
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(2)

    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    srv.daemon_threads = True
    if '--tls' in args:
        i = args.index('--tls')
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args[i + 1], args[i + 2])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(portfile + '.tmp', 'w') as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + '.tmp', portfile)
    srv.serve_forever()


if __name__ == '__main__':
    main()
