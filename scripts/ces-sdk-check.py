#!/usr/bin/env python3
"""Calls a running simulator with the official Huawei Python SDKs (signing, paths, models)
and prints what each answer deserialised into: ces-hierarchy of the three engines,
ListMetrics followed marker by marker, BatchListMetricData, ShowMetricData and a CES error.

A manual check, outside `cargo test` (it needs the SDKs, which the test machines lack):

    python3 -m venv /tmp/venv-sdk && /tmp/venv-sdk/bin/pip install huaweicloudsdkces \
        huaweicloudsdkkafka huaweicloudsdkrocketmq huaweicloudsdkrabbitmq
    cargo run -p dms-sim -- --listen 127.0.0.1:9300 --evolve-every 50ms &
    sleep 20  # a few simulated minutes of CES points
    /tmp/venv-sdk/bin/python scripts/ces-sdk-check.py http://127.0.0.1:9300
"""
import sys, time
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkces.v1 import (CesClient, ListMetricsRequest, ShowMetricDataRequest,
    BatchListMetricDataRequest, BatchListMetricDataRequestBody, MetricInfo, MetricsDimension)
from huaweicloudsdkkafka.v2 import KafkaClient, ShowCesHierarchyRequest as KafkaHierarchy, ListInstancesRequest
from huaweicloudsdkrocketmq.v2 import RocketMQClient, ShowCesHierarchyRequest as RocketHierarchy
from huaweicloudsdkrabbitmq.v2 import RabbitMQClient, ShowCesHierarchyRequest as RabbitHierarchy

endpoint, project = sys.argv[1], "0b0e4b5d1e8f4d6c9a7f3e2d1c0b9a88"
creds = BasicCredentials("SIMULATORAK000000001", "simulator-secret-key-0001", project)
config = HttpConfig.get_default_config()
def build(cls):
    return cls.new_builder().with_credentials(creds).with_endpoints([endpoint]).with_http_config(config).build()
ces, kafka = build(CesClient), build(KafkaClient)
rocket, rabbit = build(RocketMQClient), build(RabbitMQClient)

ids = {}
for engine in ["kafka", "reliability", "rabbitmq"]:
    r = kafka.list_instances(ListInstancesRequest(engine=engine))
    ids[engine] = r.instances[0].instance_id
h = kafka.show_ces_hierarchy(KafkaHierarchy(instance_id=ids["kafka"]))
print("kafka hierarchy:", [(d.name, d.dim_router, d.key_name, [c.name for c in (d.children or [])]) for d in h.dimensions])
print("  nodes", [n.name for n in h.nodes], "queues", [(q.name, len(q.partitions)) for q in h.queues], "groups", [(g.name, [q.name for q in g.queues]) for g in h.groups])
h = rocket.show_ces_hierarchy(RocketHierarchy(instance_id=ids["reliability"]))
print("rocketmq hierarchy:", [d.name for d in h.dimensions], [(n.name, n.available_zone) for n in h.nodes], [t.name for t in h.topics], [d.name for d in h.dlq], [(g.name, [t.name for t in g.topics]) for g in h.groups])
h = rabbit.show_ces_hierarchy(RabbitHierarchy(instance_id=ids["rabbitmq"]))
print("rabbitmq hierarchy:", [d.name for d in h.dimensions], [n.name for n in h.nodes], [(q.vhost, q.name) for q in h.queues][:4], [v.name for v in h.vhosts], len(h.exchanges))

listed, start = [], ""
while True:
    r = ces.list_metrics(ListMetricsRequest(namespace="SYS.DMS", dim_0="kafka_instance_id," + ids["kafka"], start=start, limit=50))
    if not r.metrics:
        break
    listed += r.metrics
    start = r.meta_data.marker
print("ListMetrics:", len(listed), "series; total", r.meta_data.total, "first", listed[0].metric_name, [(d.name, d.value) for d in listed[0].dimensions], listed[0].unit)

now = int(time.time() * 1000)
metrics = [MetricInfo(namespace=m.namespace, metric_name=m.metric_name,
    dimensions=[MetricsDimension(name=d.name, value=d.value) for d in m.dimensions]) for m in listed[:100]]
# The simulator's clock: the Kafka instances' timestamps are logical; take "to" far ahead.
body = BatchListMetricDataRequestBody(metrics=metrics, period="1", filter="average", _from=1704067200000, to=1704067200000 + 3600_000)
r = ces.batch_list_metric_data(BatchListMetricDataRequest(body=body))
with_points = [m for m in r.metrics if m.datapoints]
print("BatchListMetricData:", len(r.metrics), "series,", len(with_points), "with points; e.g.", with_points[0].metric_name, with_points[0].unit,
      [(p.timestamp, p.average, p.max) for p in with_points[0].datapoints[:3]])
m = with_points[0]
dims = {"dim_%d" % i: "%s,%s" % (d.name, d.value) for i, d in enumerate(m.dimensions)}
r = ces.show_metric_data(ShowMetricDataRequest(namespace="SYS.DMS", metric_name=m.metric_name, filter="max", period=300,
    _from=1704067200000, to=1704067200000 + 3600_000, **dims))
print("ShowMetricData:", r.metric_name, [(p.timestamp, p.max, p.unit) for p in r.datapoints[:3]])
try:
    ces.list_metrics(ListMetricsRequest(limit=0))
except exceptions.ClientRequestException as e:
    print("error:", e.status_code, repr(e.error_code), repr(e.error_msg))
