# SPDX-License-Identifier: BSD-3-Clause
"""An os-ken (Debian python3-os-ken) application for test_openflow.py:
on connect it installs a table-miss flow to the controller, a group and a
flow using it; each packet-in is written to $OSKEN_TEST_OUT and answered
with a packet-out to port 3."""
import json
import os

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER
from os_ken.controller.handler import set_ev_cls
from os_ken.ofproto import ofproto_v1_3


def record(**kw):
    with open(os.environ["OSKEN_TEST_OUT"], "a") as f:
        f.write(json.dumps(kw) + "\n")


class SluiceTest(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def features(self, ev):
        dp = ev.msg.datapath
        ofp, p = dp.ofproto, dp.ofproto_parser
        dp.send_msg(p.OFPGroupMod(dp, ofp.OFPGC_ADD, ofp.OFPGT_ALL, 1, [
            p.OFPBucket(actions=[p.OFPActionOutput(2)]),
            p.OFPBucket(actions=[p.OFPActionOutput(3)])]))
        inst = [p.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, [
            p.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)])]
        dp.send_msg(p.OFPFlowMod(dp, priority=0, match=p.OFPMatch(),
                                 instructions=inst))
        inst = [p.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS,
                                        [p.OFPActionGroup(1)])]
        dp.send_msg(p.OFPFlowMod(dp, priority=10, match=p.OFPMatch(
            eth_type=0x0800, ip_proto=17, udp_dst=99), instructions=inst))
        dp.send_msg(p.OFPBarrierRequest(dp))
        record(event="features", dpid=dp.id)

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def barrier(self, ev):
        record(event="barrier")

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    def error(self, ev):
        record(event="error", type=ev.msg.type, code=ev.msg.code)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in(self, ev):
        msg = ev.msg
        dp = msg.datapath
        ofp, p = dp.ofproto, dp.ofproto_parser
        record(event="packet_in", in_port=msg.match["in_port"],
               len=len(msg.data), reason=msg.reason, table=msg.table_id)
        dp.send_msg(p.OFPPacketOut(dp, buffer_id=ofp.OFP_NO_BUFFER,
                                   in_port=msg.match["in_port"],
                                   actions=[p.OFPActionOutput(3)],
                                   data=msg.data))
