/* SPDX-License-Identifier: Apache-2.0 */
/* bulwark-agent's pure parts: the maintenance window, the parser of the
 * gateway's check-in answer (agent/conf.c, agent/parse.c), the transfer
 * limits its client shares with bulwark install (host/netlimit.c, on a
 * clock the test moves) and its HTTP answer reader over answers in memory
 * (agent/net.c over host/http.c). */
#include "agent.h"
#include "bwh/host.h"
#include "net.h"
#include "t.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ACT(fields) "{\"poll_interval\":30,\"action\":{" fields "}}"
#define GOOD                                                                                  \
    "\"id\":7,\"campaign\":2,\"type\":\"soft\",\"state\":\"offered\",\"release\":\"fw-2\","   \
    "\"sequence\":2,\"size\":1000,\"sha256\":\"" SHA "\",\"download\":\"/api/v1/device/download/" SHA "\""

static bw_err parse(const char *s, struct agent_checkin *ci)
{
    const char *why = NULL;

    return agent_parse_checkin(s, strlen(s), ci, &why);
}

int main(void)
{
    struct agent_checkin ci;
    int a, b;

    /* windows */
    CHECK_RC(agent_window_parse("", &a, &b), BW_OK);
    CHECK(a == -1 && b == -1 && agent_window_open(a, b, 0));
    CHECK_RC(agent_window_parse("02:00-03:30", &a, &b), BW_OK);
    CHECK(a == 120 && b == 210);
    CHECK(!agent_window_open(a, b, 119) && agent_window_open(a, b, 120) &&
          agent_window_open(a, b, 209) && !agent_window_open(a, b, 210));
    CHECK_RC(agent_window_parse("22:00-04:00", &a, &b), BW_OK);
    CHECK(agent_window_open(a, b, 23 * 60) && agent_window_open(a, b, 60) &&
          !agent_window_open(a, b, 12 * 60) && !agent_window_open(a, b, 4 * 60));
    CHECK_RC(agent_window_parse("24:00-01:00", &a, &b), BW_E_FORMAT);
    CHECK_RC(agent_window_parse("01:60-02:00", &a, &b), BW_E_FORMAT);
    CHECK_RC(agent_window_parse("1:00-2:00", &a, &b), BW_E_FORMAT);
    CHECK_RC(agent_window_parse("01:00-01:00", &a, &b), BW_E_FORMAT);
    CHECK_RC(agent_window_parse("01:00-02:00x", &a, &b), BW_E_FORMAT);
    /* exactly two digits each: no sign, no blank (sscanf's %2u took both) */
    CHECK_RC(agent_window_parse(" 1:00-02:00", &a, &b), BW_E_FORMAT);
    CHECK_RC(agent_window_parse("+1:00-02:00", &a, &b), BW_E_FORMAT);
    CHECK_RC(agent_window_parse("01:00-02:+5", &a, &b), BW_E_FORMAT);

    /* check-in answers */
    CHECK_RC(parse("{\"poll_interval\":60,\"action\":null}", &ci), BW_OK);
    CHECK(ci.poll_interval == 60 && !ci.has_action);
    CHECK_RC(parse(ACT(GOOD), &ci), BW_OK);
    CHECK(ci.has_action && ci.action.id == 7 && ci.action.size == 1000 &&
          !strcmp(ci.action.type, "soft") && !strcmp(ci.action.sha256, SHA));
    CHECK(ci.action.delta_size == 0);
    /* a delta offered beside it; one whose path is not its digest's own,
     * or without a size, is refused */
    CHECK_RC(parse(ACT(GOOD ",\"delta\":{\"download\":\"/api/v1/device/delta/" SHA
                            "\",\"sha256\":\"" SHA "\",\"size\":300,\"predicted\":120}"),
                   &ci),
             BW_OK);
    CHECK(ci.action.delta_size == 300 && !strcmp(ci.action.delta_sha256, SHA));
    CHECK_RC(parse(ACT(GOOD ",\"delta\":{\"download\":\"/api/v1/device/download/" SHA
                            "\",\"sha256\":\"" SHA "\",\"size\":300}"),
                   &ci),
             BW_E_FORMAT);
    CHECK_RC(parse(ACT(GOOD ",\"delta\":{\"download\":\"/api/v1/device/delta/" SHA
                            "\",\"sha256\":\"" SHA "\"}"),
                   &ci),
             BW_E_FORMAT);
    CHECK_RC(parse(ACT(GOOD ",\"delta\":\"x\""), &ci), BW_E_FORMAT);
    /* a download path that is not the digest's own: refused */
    CHECK_RC(parse(ACT("\"id\":7,\"campaign\":2,\"type\":\"soft\",\"state\":\"offered\","
                       "\"release\":\"fw-2\",\"sequence\":2,\"size\":1000,\"sha256\":\"" SHA
                       "\",\"download\":\"https://elsewhere.example/x\""),
                   &ci),
             BW_E_FORMAT);
    CHECK(!ci.has_action && ci.poll_interval == 0);
    CHECK_RC(parse("{\"poll_interval\":60,\"action\":{", &ci), BW_E_FORMAT); /* truncated */
    CHECK_RC(parse("{\"poll_interval\":0,\"action\":null}", &ci), BW_E_FORMAT);
    CHECK_RC(parse("{\"poll_interval\":\"60\",\"action\":null}", &ci), BW_E_FORMAT);
    CHECK_RC(parse("{\"poll_interval\":60,\"poll_interval\":1}", &ci), BW_E_FORMAT);
    CHECK_RC(parse("{\"poll_interval\":60,\"action\":[]}", &ci), BW_E_FORMAT);
    CHECK_RC(parse(ACT("\"id\":7,\"campaign\":2,\"type\":\"later\",\"state\":\"offered\","
                       "\"release\":\"fw-2\",\"sequence\":2,\"size\":1000,\"sha256\":\"" SHA
                       "\",\"download\":\"/api/v1/device/download/" SHA "\""),
                   &ci),
             BW_E_FORMAT);
    CHECK_RC(parse(ACT("\"id\":7,\"campaign\":2,\"type\":\"soft\",\"state\":\"offered\","
                       "\"release\":\"fw\\n2\",\"sequence\":2,\"size\":1000,\"sha256\":\"" SHA
                       "\",\"download\":\"/api/v1/device/download/" SHA "\""),
                   &ci),
             BW_E_FORMAT);
    CHECK_RC(parse(ACT("\"id\":7,\"campaign\":2,\"type\":\"soft\",\"state\":\"offered\","
                       "\"release\":\"fw-2\",\"sequence\":2,\"size\":0,\"sha256\":\"" SHA
                       "\",\"download\":\"/api/v1/device/download/" SHA "\""),
                   &ci),
             BW_E_FORMAT);
    CHECK_RC(parse("", &ci), BW_E_FORMAT);

    /* --low-speed syntax */
    {
        uint64_t by;
        unsigned se;

        CHECK_RC(bwh_net_low_speed_parse("100/60", &by, &se), BW_OK);
        CHECK(by == 100 && se == 60);
        CHECK_RC(bwh_net_low_speed_parse("0", &by, &se), BW_OK);
        CHECK(by == 0 && se == 0);
        CHECK_RC(bwh_net_low_speed_parse("100", &by, &se), BW_E_FORMAT);
        CHECK_RC(bwh_net_low_speed_parse("100/0", &by, &se), BW_E_FORMAT);
        CHECK_RC(bwh_net_low_speed_parse("100/86401", &by, &se), BW_E_FORMAT);
        CHECK_RC(bwh_net_low_speed_parse("x/5", &by, &se), BW_E_FORMAT);
        CHECK_RC(bwh_net_low_speed_parse("/5", &by, &se), BW_E_FORMAT);
    }
    /* the meter: 100 bytes/s over 10 s, 100 s in all, 4 fields, 64 bytes */
    {
        struct bwh_net_limits l;
        struct bwh_net_meter m;
        char err[200];
        int64_t t;
        uint64_t got = 0;

        bwh_net_limits_default(&l);
        l.low_speed_bytes = 100;
        l.low_speed_s = 10;
        l.total_s = 100;
        l.header_fields_max = 4;
        l.header_max = 64;
        bwh_net_meter_start(&m, &l, 1000);
        /* 1 byte/s: the trickle a stall timer never sees */
        for (t = 1000; t < 11000; t += 1000)
            CHECK_RC(bwh_net_meter_check(&m, t, ++got, err, sizeof(err)), BW_OK);
        CHECK_RC(bwh_net_meter_check(&m, 11000, ++got, err, sizeof(err)), BW_E_IO);
        CHECK(strstr(err, "low-speed limit of 100 bytes/s") != NULL);
        /* exactly the limit passes, window after window */
        bwh_net_meter_start(&m, &l, 0);
        for (got = 0, t = 10000; t < 60000; t += 10000) {
            got += 1000;
            CHECK_RC(bwh_net_meter_check(&m, t, got, err, sizeof(err)), BW_OK);
        }
        /* and one byte short of it fails at the end of its window */
        CHECK_RC(bwh_net_meter_check(&m, 55000, got + 999, err, sizeof(err)), BW_OK);
        CHECK_RC(bwh_net_meter_check(&m, 60000, got + 999, err, sizeof(err)), BW_E_IO);
        CHECK(strstr(err, "999 bytes in the last 10 s") != NULL);
        bwh_net_meter_start(&m, &l, 0);
        m.win_t0_ms = 100000; /* no window ends before the total */
        CHECK(bwh_net_meter_wait_ms(&m, 99500, 1000) == 500 &&
              bwh_net_meter_wait_ms(&m, 101000, 1000) == 0);
        CHECK_RC(bwh_net_meter_check(&m, 99999, 0, err, sizeof(err)), BW_OK);
        CHECK_RC(bwh_net_meter_check(&m, 100000, 0, err, sizeof(err)), BW_E_IO);
        CHECK(strstr(err, "total limit") != NULL);
        /* header block: a status line and 4 fields, then one field more */
        bwh_net_meter_head(&m);
        CHECK_RC(bwh_net_meter_line(&m, 15, err, sizeof(err)), BW_OK);
        for (t = 0; t < 4; t++)
            CHECK_RC(bwh_net_meter_line(&m, 3, err, sizeof(err)), BW_OK);
        CHECK_RC(bwh_net_meter_line(&m, 3, err, sizeof(err)), BW_E_TOOBIG);
        CHECK(strstr(err, "more than 4 header fields") != NULL);
        bwh_net_meter_head(&m);
        CHECK_RC(bwh_net_meter_line(&m, 62, err, sizeof(err)), BW_OK);
        CHECK_RC(bwh_net_meter_line(&m, 0, err, sizeof(err)), BW_E_TOOBIG);
        CHECK(strstr(err, "header block over 64 bytes") != NULL);
    }
    /* the agent's answer reader over answers in memory */
    {
        static struct agent_conf c;
        static char many[8192];
        long st;
        size_t n;
        int i;

        CHECK_RC(agent_net_parse_answer(&c, (const uint8_t *)"HTTP/1.1 100 Continue\r\n\r\n"
                                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 65, 0,
                                        -1, 0, &st),
                 BW_OK);
        CHECK(st == 200);
        n = (size_t)snprintf(many, sizeof(many), "HTTP/1.1 200 OK\r\n");
        for (i = 0; i < 101; i++)
            n += (size_t)snprintf(many + n, sizeof(many) - n, "X-%d: v\r\n", i);
        n += (size_t)snprintf(many + n, sizeof(many) - n, "\r\n");
        CHECK_RC(agent_net_parse_answer(&c, (const uint8_t *)many, n, 0, -1, 0, &st), BW_E_TOOBIG);
        /* a 302 is an answer, not followed */
        CHECK_RC(agent_net_parse_answer(&c, (const uint8_t *)"HTTP/1.1 302 Found\r\nLocation: "
                                        "http://elsewhere/\r\nContent-Length: 0\r\n\r\n", 70, 0,
                                        -1, 0, &st),
                 BW_OK);
        CHECK(st == 302);
    }
    T_DONE();
}
