"""Benchmark: queue and send messages through the real code to a local UltraMsg stand-in.

    .venv/bin/python bench/messages.py                      # SQLite (a throwaway database file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/syseducore_bench .venv/bin/python bench/messages.py

It creates its own test database (``test_<name>``, migrated, dropped at the end), starts an HTTP
server on 127.0.0.1 (its own process) that answers at once like UltraMsg (or, with ``--whatsapp
cloud``, like the WhatsApp Cloud API) and like an SMS gateway, then measures with one worker (this
process). The channel is chosen per message: every ``--sms-every``-th guardian prefers SMS.

1. queue: ``message_queue`` for N guardians, each call its own transaction with the on-commit
   hand-off to django-q2 (an OrmQ row, as in production without Redis);
2. send (schedule path): ``messages_send_due`` until nothing is due, the every-minute job;
3. send (task path): ``message_send`` per message, what the worker runs for each hand-off.

It prints messages per second and database queries per message for each phase.
"""

import argparse
import json
import multiprocessing
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import django_setup, emit, throwaway_database


class InstantUltraMsg(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once on a kept-alive connection
    counter = None  # a multiprocessing.Value shared with the benchmark

    def log_message(self, format, *args):  # no per-request log lines
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with InstantUltraMsg.counter.get_lock():
            InstantUltraMsg.counter.value += 1
            number = InstantUltraMsg.counter.value
        if self.path.startswith("/sms"):
            reply = {"code": "1901", "SMSID": number}
        elif self.path.endswith("/messages") and self.path.startswith("/v"):  # the Cloud API
            reply = {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.{number}"}]}
        else:
            reply = {"sent": "true", "message": "ok", "id": number}
        body = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(counter, ports) -> None:
    """The stand-in provider, in its own process: it must not share the sender's interpreter."""
    InstantUltraMsg.counter = counter
    server = ThreadingHTTPServer(("127.0.0.1", 0), InstantUltraMsg)
    server.daemon_threads = True
    ports.put(server.server_address[1])
    server.serve_forever()


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def measure(label: str, count: int, work) -> dict:
    from django.db import connection

    counter = QueryCounter()
    started, cpu_started = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(counter):
        work()
    elapsed = time.perf_counter() - started
    # This worker's own CPU time: on a shared, loaded machine the wall clock mostly measures the
    # neighbours; messages per CPU second is what one worker could do with a core to itself.
    cpu = time.process_time() - cpu_started
    result = {
        "phase": label,
        "messages": count,
        "seconds": round(elapsed, 2),
        "messages_per_second": round(count / elapsed, 1),
        "queries_per_message": round(counter.count / count, 2),
        "messages_per_cpu_second": round(count / cpu, 1) if cpu else None,
    }
    emit(
        f"{label:<28} {count:>6} messages  {elapsed:7.2f} s  {result['messages_per_second']:8.1f} msg/s  "
        f"{result['queries_per_message']:5.2f} queries/msg  {result['messages_per_cpu_second'] or 0:8.1f} msg/cpu-s"
    )
    return result


def run(messages: int, per_message: int, *, whatsapp: str = "ultramsg", sms_every: int = 4) -> list[dict]:
    import datetime

    from django.conf import settings
    from django.db import connection

    from core.models import CenterSettings, Channel, CloudTemplate, Guardian, Message, MessageTemplate
    from core.services.messaging import message_queue, message_send, messages_send_due

    counter, ports = multiprocessing.Value("i", 0), multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(counter, ports), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=10)}"
    settings.WHATSAPP_PROVIDER = whatsapp
    settings.ULTRAMSG_BASE_URL = base
    settings.ULTRAMSG_INSTANCE_ID, settings.ULTRAMSG_TOKEN = "bench", "bench-token"
    settings.WHATSAPP_CLOUD_BASE_URL, settings.WHATSAPP_CLOUD_PHONE_NUMBER_ID = base, "bench"
    settings.WHATSAPP_CLOUD_TOKEN = "bench-token"  # noqa: S105 (the stand-in takes any token)
    settings.SMS_PROVIDER, settings.SMS_GATEWAY_URL, settings.SMS_SUCCESS_TEXT = "http", f"{base}/sms", "1901"
    if whatsapp == "cloud":  # outside the 24-hour window: every WhatsApp message is a template
        CloudTemplate.objects.create(
            template=MessageTemplate.objects.get(key="arrived"),
            name="arrived",
            parameters="student_name, group_name, time",
        )

    center = CenterSettings.load()
    center.messaging_enabled = True
    center.quiet_hours_start = center.quiet_hours_end = datetime.time(0, 0)  # no quiet hours tonight
    center.save()
    total = messages + per_message
    Guardian.objects.bulk_create(
        Guardian(
            phone=f"+2010{index:08d}",
            full_name=f"ولي أمر {index}",
            message_channel=Channel.SMS if sms_every and index % sms_every == 0 else Channel.WHATSAPP,
        )
        for index in range(total)
    )
    guardians = list(Guardian.objects.order_by("id"))
    context = {"student_name": "أحمد محمود", "group_name": "رياضيات ٣ ث", "time": datetime.time(16, 30)}

    def queue(batch):
        def work():
            for guardian in batch:
                message_queue(event=f"bench:{guardian.pk}", guardian=guardian, template="arrived", context=context)

        return work

    def send_due():
        while messages_send_due().attempted:
            pass

    results = [
        measure("queue (+ on-commit hand-off)", messages, queue(guardians[:messages])),
        measure("send, schedule path", messages, send_due),
    ]
    queue(guardians[messages:])()
    ids = list(Message.objects.filter(status=Message.Status.PENDING).values_list("pk", flat=True))

    def send_each():
        for message_id in ids:
            message_send(message_id=message_id)

    if ids:
        results.append(measure("send, one task per message", len(ids), send_each))
    sent = Message.objects.filter(status=Message.Status.SENT).count()
    by_sms = Message.objects.filter(status=Message.Status.SENT, channel=Channel.SMS).count()
    assert sent == total == counter.value, (sent, total, counter.value)
    emit(
        f"database: {connection.vendor}; {sent} messages sent ({sent - by_sms} by WhatsApp/{whatsapp}, "
        f"{by_sms} by SMS), {counter.value} requests received"
    )
    server.terminate()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000, help="messages for the queue and schedule phases")
    parser.add_argument("--per-message", type=int, default=2_000, help="messages for the one-task-per-message phase")
    parser.add_argument("--whatsapp", choices=["ultramsg", "cloud"], default="ultramsg", help="the WhatsApp provider")
    parser.add_argument("--sms-every", type=int, default=4, help="every n-th guardian prefers SMS (0: none)")
    args = parser.parse_args()

    django_setup()
    with throwaway_database():
        run(args.messages, args.per_message, whatsapp=args.whatsapp, sms_every=args.sms_every)


if __name__ == "__main__":
    main()
