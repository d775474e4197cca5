/* SPDX-License-Identifier: Apache-2.0 */
/* bulwark-agent's pure parts: the maintenance window and the parser of the
 * gateway's check-in answer (agent/conf.c, agent/parse.c). */
#include "agent.h"
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

    /* check-in answers */
    CHECK_RC(parse("{\"poll_interval\":60,\"action\":null}", &ci), BW_OK);
    CHECK(ci.poll_interval == 60 && !ci.has_action);
    CHECK_RC(parse(ACT(GOOD), &ci), BW_OK);
    CHECK(ci.has_action && ci.action.id == 7 && ci.action.size == 1000 &&
          !strcmp(ci.action.type, "soft") && !strcmp(ci.action.sha256, SHA));
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
    T_DONE();
}
