"""The `newsbeam` command: `newsbeam run [flags] [Beam pipeline options]`."""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.build import build_pipeline
from pipeline.config import ConfigError, feed_entry, load_config
from pipeline.options import NewsbeamOptions
from transforms.write import commit_run

USAGE = """usage: newsbeam run [--config PATH] [--input GLOB]... [--feed URL_OR_PATH]...
                    [--output DIR] [--allow-private-hosts] [Beam pipeline options ...]

With no --input or --feed, reads the config's inputs (seeds/*.txt) into out/ on the
DirectRunner. Any other --flag goes to Apache Beam (--runner, --direct_num_workers, ...)."""


def effective_config(options: NewsbeamOptions) -> dict[str, Any]:
    """The config file's settings with the command line's flags on top."""
    config = load_config(options.config)
    if options.inputs or options.feeds:
        config["inputs"] = list(options.inputs or [])
        config["feeds"] = config["feeds"] + [feed_entry(f) for f in options.feeds or []]
    if options.output:
        config["output"] = options.output
    config["allow_private_hosts"] = config["allow_private_hosts"] or options.allow_private_hosts
    if not config["inputs"] and not config["feeds"]:
        raise ConfigError("nothing to read: give --input GLOB or --feed URL, or set inputs")
    return config


def check_output_writable(output: str) -> None:
    """Fail before the run, with a clear message, when OUTPUT cannot be written."""
    probe = f"{output.rstrip('/')}/.newsbeam-write-check-{uuid.uuid4().hex}"
    try:
        FileSystems.create(probe).close()
        FileSystems.delete([probe])
    except Exception as exc:  # noqa: BLE001 - any filesystem failure means the same to the user
        raise ConfigError(f"cannot write to output {output!r}: {exc}") from None


def counters(result: Any) -> Counter[str]:
    totals: Counter[str] = Counter()
    query = result.metrics().query(MetricsFilter().with_namespace("newsbeam"))
    for counter in query["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] += value or 0
    return totals


def summary(totals: Counter[str], seconds: float) -> str:
    errors = {name.split(".", 1)[1]: n for name, n in sorted(totals.items())
              if name.startswith("errors.") and n}
    error_text = ", ".join(f"{stage} {n}" for stage, n in errors.items()) or "none"
    return (f"newsbeam: inputs seen {totals['inputs']} ({totals['records']} records, "
            f"{totals['feeds_unchanged']} feeds unchanged), "
            f"articles written {totals['articles_written']}, "
            f"already in output {totals['skipped_existing']}, "
            f"errors by stage: {error_text}; wall time {seconds:.1f} s")


def run(argv: list[str]) -> int:
    options = PipelineOptions(argv)
    try:
        config = effective_config(options.view_as(NewsbeamOptions))
        check_output_writable(config["output"])
        started, ingested_at = time.monotonic(), datetime.now(UTC)
        pipeline = build_pipeline(options, config, ingested_at)
    except (ConfigError, ValueError) as exc:
        print(f"newsbeam: {exc}", file=sys.stderr)
        return 2
    result = pipeline.run()
    result.wait_until_finish()
    commit_run(config["output"], ingested_at)
    print(summary(counters(result), time.monotonic() - started))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    if args[0] != "run":
        print(f"newsbeam: unknown command {args[0]!r}\n{USAGE}", file=sys.stderr)
        return 2
    if any(a in ("-h", "--help") for a in args[1:]):
        print(USAGE)
        return 0
    return run(args[1:])


if __name__ == "__main__":
    sys.exit(main())
