#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A scripted HTTPS server for tests/integ/agent_http.sh: mutual TLS, and
the device API's rule that a token is good on one connection only, with
answers the gateway itself never gives (chunked, close-delimited, a
connection dropped after an answer, a server ignoring Range).

usage: agent_httpd.py CERT KEY CLIENT_CA DIR PORTFILE
Downloads are DIR/<sha256>; DIR/<sha256>.norange makes that one ignore
Range. A path ending in hostile-MODE gets a hostile answer (hostile_http.py),
after the token check. Logs one line per request to stderr:
  conn=N METHOD PATH token=T STATUS   (T numbers the distinct tokens seen)"""
import http.server
import os
import ssl
import sys
import threading

import hostile_http

cert, key, ca, root, portfile = sys.argv[1:6]
lock = threading.Lock()
tokens = {}  # token -> (number, connection it is bound to)
conns = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *a):
        pass

    def setup(self):
        super().setup()
        with lock:
            conns[0] += 1
            self.conn = conns[0]

    def token(self):
        auth = self.headers.get('Authorization', '')
        tok = auth[7:] if auth.startswith('Bearer ') else ''
        with lock:
            if tok not in tokens:
                tokens[tok] = (len(tokens) + 1, self.conn)
            num, bound = tokens[tok]
        return num, bound == self.conn and tok != ''

    def log(self, num, status):
        sys.stderr.write('conn=%d %s %s token=%d %d\n' % (self.conn, self.command, self.path,
                                                          num, status))
        sys.stderr.flush()

    def answer(self, status, body, extra=()):
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', '0')))
        num, ok = self.token()
        self.log(num, 200 if ok else 401)
        if not ok:  # a token seen on another connection: a replay
            return self.answer(401, b'{"error":"token","message":"BW_E_REPLAY"}')
        if hostile_http.handle(self):
            return
        body = ('{"conn":%d,"token":%d}' % (self.conn, num)).encode()
        if self.path == '/chunked':
            self.send_response(200)
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            for part in (b'{"chunked":', b'"hello, chunked ', b'world"}'):
                self.wfile.write(b'%x;ext=1\r\n%s\r\n' % (len(part), part))
            self.wfile.write(b'0\r\nX-Trailer: yes\r\n\r\n')
        elif self.path == '/close':  # no length: the body ends with the connection
            self.send_response(200)
            self.send_header('Connection', 'close')
            self.end_headers()
            self.wfile.write(b'{"until":"close"}')
            self.close_connection = True
        elif self.path == '/drop':  # keep-alive promised, then the connection is dropped
            self.answer(200, body)
            self.close_connection = True
        else:
            self.answer(200, body)

    def do_GET(self):
        num, ok = self.token()
        if ok and hostile_http.handle(self):
            return self.log(num, 0)
        name = os.path.join(root, os.path.basename(self.path))
        if not ok or not os.path.exists(name):
            self.log(num, 401 if not ok else 404)
            return self.answer(401 if not ok else 404, b'{"error":"no"}')
        data = open(name, 'rb').read()
        rng = self.headers.get('Range')
        if rng and not os.path.exists(name + '.norange'):  # 206, chunked
            start = int(rng.split('=')[1].rstrip('-'))
            self.log(num, 206)
            self.send_response(206)
            self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, len(data) - 1, len(data)))
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            for off in range(start, len(data), 7777):
                part = data[off:off + 7777]
                self.wfile.write(b'%x\r\n%s\r\n' % (len(part), part))
            self.wfile.write(b'0\r\n\r\n')
        else:
            self.log(num, 200)
            self.answer(200, data)


srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
srv.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
ctx.verify_mode = ssl.CERT_REQUIRED
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + '.tmp', portfile)
srv.serve_forever()
