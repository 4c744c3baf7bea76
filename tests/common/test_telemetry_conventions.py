"""Metric conventions written once: bounded subject labels, scrape targets, delivery metrics,
the traces exporter chosen by settings, and consumer lag read from JetStream."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from prometheus_client import CollectorRegistry, generate_latest

from papertape.common.runtime import ServiceRuntime
from papertape.common.settings import CommonSettings, SettingsError, load_settings
from papertape.common.telemetry.deliveries import FAILED, OK, DeliveryMetrics
from papertape.common.telemetry.subjects import subject_pattern
from papertape.common.telemetry.targets import write_scrape_target
from papertape.common.telemetry.tracing import span_exporter
from papertape.contract.subjects import StreamSpec, Subjects


@pytest.mark.parametrize(
    ("subject", "pattern"),
    [
        ("t1.acct.alice.order_placed", "acct.*.order_placed"),
        ("exec.alice.order_fill_reported", "exec.*.order_fill_reported"),
        ("md.quote.BTCUSD", "md.quote.*"),
        ("md.bar.1m.AAPL", "md.bar.1m.*"),
        ("signal.ema_cross.AAPL", "signal.ema_cross.*"),
        ("session.s-1.session_started", "session.*.session_started"),
        ("notify.alice", "notify.*"),
        ("portfolio.query.get_account_summary", "portfolio.query.get_account_summary"),
        ("dlq.portfolio.acct.alice.order_placed", "dlq.portfolio.>"),
        ("_INBOX.abc.def", "_INBOX.*.*"),
        ("webhook.alice.deliver", "webhook.>"),
    ],
)
def test_a_subject_label_names_its_family_never_an_account_or_a_symbol(
    subject: str, pattern: str
) -> None:
    assert subject_pattern(subject, "t1") == pattern


def test_a_scrape_target_file_is_what_file_sd_reads(tmp_path: Path) -> None:
    path = write_scrape_target(tmp_path / "targets", "portfolio", "127.0.0.1", 9101)
    (group,) = json.loads(path.read_text())
    assert group["targets"] == ["127.0.0.1:9101"]
    assert group["labels"] == {"service": "portfolio", "instance_pid": str(os.getpid())}
    assert not list((tmp_path / "targets").glob("*.tmp"))


def test_delivery_metrics_count_attempts_outcomes_and_failure_reasons() -> None:
    registry = CollectorRegistry()
    metrics = DeliveryMetrics(registry)
    metrics.delivered("webhook", OK, 0.05)
    metrics.delivered("webhook", FAILED, 5.0, reason="timeout")
    text = generate_latest(registry).decode()
    assert 'papertape_webhook_deliveries_total{channel="webhook",outcome="ok"} 1.0' in text
    assert 'papertape_webhook_failures_total{channel="webhook",reason="timeout"} 1.0' in text
    assert 'papertape_webhook_delivery_seconds_count{channel="webhook"} 2.0' in text


def test_the_traces_exporter_is_otlp_over_http_or_none() -> None:
    assert span_exporter("none") is None
    exporter = span_exporter("otlp", "http://127.0.0.1:4318/v1/traces")
    assert isinstance(exporter, OTLPSpanExporter)
    settings = load_settings(CommonSettings, env={"PAPERTAPE_TRACES_EXPORTER": "otlp"})
    assert settings.traces_exporter == "otlp"
    with pytest.raises(SettingsError) as refused:
        load_settings(CommonSettings, env={"PAPERTAPE_TRACES_EXPORTER": "jaeger"})
    assert refused.value.field == "traces_exporter"


@pytest.mark.integration
async def test_consumer_lag_is_read_from_each_own_durables_consumer_info(
    nats_url: str,
    subjects: Subjects,
    nats_client: Client,
    jetstream_streams: tuple[StreamSpec, ...],
) -> None:
    js = nats_client.jetstream()
    stream, durable = subjects.stream("EXECUTION"), subjects.durable("portfolio", "execution")
    await js.add_consumer(stream, ConsumerConfig(durable_name=durable, ack_wait=30))
    for index in range(3):
        await js.publish(subjects.execution_report("alice", "order_fill_reported"), b"%d" % index)
    settings = CommonSettings(nats_url=nats_url, namespace=subjects.namespace, metrics_port=-1)
    runtime = ServiceRuntime("portfolio", settings)
    await runtime.connect()
    try:
        assert runtime.own_durables() == [(stream, durable)]
        await runtime.poll_consumer_lag()
    finally:
        await runtime.broker.stop()
    labels = {"service": "portfolio", "stream": stream, "durable": durable}
    registry = runtime.metrics.registry
    assert registry.get_sample_value("papertape_consumer_pending_messages", labels) == 3
    assert registry.get_sample_value("papertape_consumer_ack_pending_messages", labels) == 0
