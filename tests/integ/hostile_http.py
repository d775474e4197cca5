# SPDX-License-Identifier: Apache-2.0
"""Hostile answers for the test servers (httpd.py, agent_httpd.py): what a
dead or malicious server does to an HTTP client. A request whose last path
segment is hostile-MODE gets:
  trickle       200 announcing 60000 bytes (under every body cap, so only
                the speed limits can end it), then the body at 1 byte/s
  trickle-head  the status line and header fields at 1 byte/s, never ending
  headers       header fields without end, as fast as the client reads
  bighead       one header field of 100000 bytes
  continue      "100 Continue" answers without end, each with a field
  body          200 with no length, then bytes without end (close-delimited)
  biglen        200 announcing 10^15 bytes, then bytes without end
  loop          302 back to itself, without end
  tohttp        302 from https to an http:// URL
  silent        the request is read, and never answered
Every mode ends after LIMIT_S seconds or when the client goes away, so a
test that fails never leaves a server spinning."""
import time

LIMIT_S = 60


def handle(h):
    """Answers h (a BaseHTTPRequestHandler) if its path asks for a hostile
    mode; returns False otherwise."""
    name = h.path.split('?')[0].rstrip('/').rsplit('/', 1)[-1]
    if not name.startswith('hostile-'):
        return False
    mode = name[len('hostile-'):]
    end = time.monotonic() + LIMIT_S
    h.close_connection = True
    try:
        if mode == 'trickle':
            h.send_response(200)
            h.send_header('Content-Length', '60000')
            h.end_headers()
            h.wfile.flush()
            while time.monotonic() < end:
                h.wfile.write(b'\xd9')
                h.wfile.flush()
                time.sleep(1)
        elif mode == 'trickle-head':
            for b in b'HTTP/1.1 200 OK\r\nX-Slow: ' + b'a' * 1000:
                if time.monotonic() >= end:
                    break
                h.wfile.write(bytes([b]))
                h.wfile.flush()
                time.sleep(1)
        elif mode == 'headers':
            h.wfile.write(b'HTTP/1.1 200 OK\r\n')
            n = 0
            while time.monotonic() < end:
                h.wfile.write(b'X-Filler-%d: %s\r\n' % (n, b'f' * 40))
                n += 1
        elif mode == 'bighead':
            h.wfile.write(b'HTTP/1.1 200 OK\r\nX-Big: ' + b'b' * 100000 + b'\r\n\r\n')
        elif mode == 'continue':
            while time.monotonic() < end:
                h.wfile.write(b'HTTP/1.1 100 Continue\r\nX-More: yes\r\n\r\n')
        elif mode in ('body', 'biglen'):
            h.send_response(200)
            if mode == 'biglen':
                h.send_header('Content-Length', str(10 ** 15))
            h.end_headers()
            block = b'\x00' * 65536
            while time.monotonic() < end:
                h.wfile.write(block)
        elif mode in ('loop', 'tohttp'):
            h.send_response(302)
            h.send_header('Location', h.path if mode == 'loop' else 'http://127.0.0.1:9/v2.bwp')
            h.send_header('Content-Length', '0')
            h.end_headers()
        elif mode == 'silent':
            while time.monotonic() < end:
                time.sleep(0.5)
        else:
            h.send_error(400)
    except (OSError, ValueError):
        pass  # the client went away: what it should do
    return True
