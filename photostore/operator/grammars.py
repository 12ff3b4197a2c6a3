"""What the systems behind a PhotoStorage accept, as regular expressions and CEL rules.

The CRD checks each field the way the system that consumes it would: a backup schedule with
Kubernetes' cron grammar (robfig/cron, which the CronJob controller and its validation use),
an image repository with the OCI reference grammar (distribution/reference), a bucket with
S3's naming rules, topics and brokers with Kafka's. A PhotoStorage the apiserver admits then
never fails later, as an ApplyFailed condition or silently, on one of these values.

The expressions are RE2 (CEL's `matches`) and go into CEL raw strings (`r'...'`), so they
must not contain a single quote.
"""

from __future__ import annotations

from typing import Any


def rule(expression: str, message: str, field_path: str | None = None) -> dict[str, str]:
    """One `x-kubernetes-validations` entry; `field_path` points the error at a field."""
    entry = {"rule": expression, "message": message}
    if field_path:
        entry["fieldPath"] = field_path
    return entry


def rules(*entries: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(entries)}


def matches(regex: str, message: str) -> dict[str, str]:
    """A rule that `self` matches `regex` (whole string)."""
    if "'" in regex:
        raise ValueError(f"a quote cannot go into a CEL raw string: {regex}")
    return rule(f"self.matches(r'^(?:{regex})$')", message)


# Cron (github.com/robfig/cron/v3 ParseStandard): five fields, each a list of `*`/`?`,
# a value or a range `a-b`, any of them with a step `/n` (n >= 1); names for months and
# weekdays in any case; numbers may have leading zeros. Stricter than robfig in one place:
# an empty list item ("1,,2"), which it takes, is refused as the typo it is.
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_WEEKDAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
_CRON_VALUES = (
    r"0*[1-5]?[0-9]",  # minute 0-59
    r"0*(?:1?[0-9]|2[0-3])",  # hour 0-23
    r"0*(?:[1-9]|[12][0-9]|3[01])",  # day of month 1-31
    rf"0*(?:[1-9]|1[0-2])|(?i:{_MONTHS})",  # month 1-12
    rf"0*[0-6]|(?i:{_WEEKDAYS})",  # day of week 0-6 (robfig/cron refuses 7 for Sunday)
)


def _cron_field(value: str) -> str:
    item = rf"(?:[*?]|(?:{value})(?:-(?:{value}))?)(?:/0*[1-9][0-9]*)?"
    return rf"{item}(?:,{item})*"


CRON_MACROS = ("yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly")
_GO_DURATION = r"(?:[0-9]+(?:\.[0-9]*)?(?:ns|us|µs|ms|s|m|h))+"
CRON = (
    rf"@(?:{'|'.join(CRON_MACROS)})|@every {_GO_DURATION}"
    rf"|\s*{_cron_field(_CRON_VALUES[0])}"
    + "".join(rf"\s+{_cron_field(value)}" for value in _CRON_VALUES[1:])
    + r"\s*"
)
CRON_RULES = (
    matches(
        CRON,
        "must be a cron schedule of 5 fields: minute 0-59, hour 0-23, day of month 1-31,"
        " month 1-12 or JAN-DEC, day of week 0-6 or SUN-SAT; each *, a value, a range a-b,"
        " optionally /step, or a comma-separated list of those (e.g. '0 2 * * *',"
        " '*/15 9-17 * * MON-FRI'); or @hourly, @daily, @weekly, @monthly, @yearly,"
        " @annually, @midnight",
    ),
    rule(
        "self.findAll(r'[0-9]{1,3}-[0-9]{1,3}', 16)"
        ".all(r, int(r.split('-')[0]) <= int(r.split('-')[1]))",
        "a range a-b in the cron schedule must not end before it starts",
    ),
    rule(
        "!self.contains('TZ')",
        "must not set a time zone (TZ= or CRON_TZ=): Kubernetes CronJobs refuse it in the"
        " schedule, which runs in the kube-controller-manager's time zone",
    ),
)

# Images (github.com/distribution/reference): [host[:port]/]path, each path component
# lowercase alphanumerics joined by `.`, `_`, `__` or dashes; the tag goes in its own field.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_REGISTRY = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
IMAGE_REPOSITORY = rf"(?:{_REGISTRY}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
IMAGE_REPOSITORY_RULES = (
    matches(
        IMAGE_REPOSITORY,
        "must be an image repository without tag or digest, such as"
        " ghcr.io/photostore/photostore or localhost:5000/photostore: an optional registry"
        " host[:port]/, then lowercase path components (letters, digits, '.', '_', '-'"
        " between them) joined by '/'",
    ),
)
IMAGE_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
IMAGE_TAG_RULES = (
    matches(
        IMAGE_TAG,
        "must be an image tag: up to 128 letters, digits, '_', '.' and '-', not starting"
        " with '.' or '-'",
    ),
)

# S3 bucket names (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
S3_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
S3_BUCKET_RULES = (
    matches(
        r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
        "must be an S3 bucket name: lowercase letters, digits, '.' and '-', starting and"
        " ending with a letter or digit",
    ),
    rule("!self.contains('..')", "must not contain two adjacent periods (S3 bucket naming)"),
    rule(
        r"!self.matches(r'^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$')",
        "must not be formatted as an IP address (S3 bucket naming)",
    ),
    rule(
        " && ".join(f"!self.startsWith('{p}')" for p in S3_BUCKET_PREFIXES),
        f"must not start with {', '.join(S3_BUCKET_PREFIXES)} (reserved by S3)",
    ),
    rule(
        " && ".join(f"!self.endsWith('{s}')" for s in S3_BUCKET_SUFFIXES),
        f"must not end with {', '.join(S3_BUCKET_SUFFIXES)} (reserved by S3)",
    ),
)

# Hosts: a DNS name (any case, as resolvers take it) or an IP address; the port is separate.
_HOST_LABEL = r"[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
HOSTNAME = rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*"
HOST_RULES = (
    rule(
        f"self.matches(r'^{HOSTNAME}$') || isIP(self)",
        "must be a DNS name or an IP address, without scheme or port (the port has its own field)",
    ),
)

# Kafka: bootstrap servers are host:port (an IPv6 host in brackets); topic names are
# legal characters up to 249, not "." or ".." (kafka.common.internals.Topic.validate).
PORT = r"0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
BROKER_RULES = (
    matches(
        rf"(?:{HOSTNAME}|\[[a-fA-F0-9:.]+\]):[0-9]+",
        "must be host:port: a DNS name, an IPv4 address or an [IPv6] address, a colon, a port",
    ),
    rule(f"!self.matches(r'^.*:[0-9]+$') || self.matches(r':{PORT}$')", "port must be 1-65535"),
)
KAFKA_NAME = r"[A-Za-z0-9._-]+"
TOPIC_RULES = (
    matches(KAFKA_NAME, "must be a Kafka topic name: letters, digits, '.', '_' and '-'"),
    rule("self != '.' && self != '..'", "must not be '.' or '..' (Kafka refuses them)"),
)
CONSUMER_GROUP_RULES = (
    matches(KAFKA_NAME, "must be a consumer group id: letters, digits, '.', '_' and '-'"),
)

# Kubernetes names and labels, with the apiserver's own checks (CEL format library).
DNS_LABEL_RULES = (
    rule(
        "!format.dns1123Label().validate(self).hasValue()",
        "must be a DNS label (a namespace name): lowercase letters, digits and '-', starting"
        " and ending with a letter or digit, at most 63",
    ),
)
SECRET_NAME_RULES = (
    rule(
        "!format.dns1123Subdomain().validate(self).hasValue()",
        "must be a Secret name: lowercase letters, digits, '-' and '.', starting and ending"
        " with a letter or digit",
    ),
)
LABEL_VALUE_RULES = (
    rule(
        "!format.labelValue().validate(self).hasValue()",
        "must be a label value: up to 63 letters, digits, '-', '_' and '.', starting and"
        " ending with a letter or digit",
    ),
)
LABEL_KEY_RULE = rule(
    "self.all(k, !format.qualifiedName().validate(k).hasValue())",
    "pod label keys must be valid Kubernetes label keys ([prefix/]name)",
)

URL_RULES = (
    rule(
        "isURL(self) && url(self).getScheme() in ['http', 'https']"
        " && url(self).getHostname() != ''",
        "must be an http:// or https:// URL with a host, e.g. https://s3.eu-central-1.amazonaws.com",
    ),
)

# A release number; it is also the default image tag, so no "+build" (not legal in a tag).
VERSION_RULES = (
    matches(
        r"v?[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?",
        "must be a release such as 1.2.3, v1.2.3 or 1.2.3-rc.1 (no '+build': it is the"
        " default image tag)",
    ),
)

# Quantities and int-or-percent values, the way ResourceQuota, LimitRange, container
# resources and Deployment's rollingUpdate read them.
QUANTITY_RULES = (
    rule(
        "type(self) == int || isQuantity(self)",
        "must be a quantity such as 500m, 2, 512Mi or 2Gi",
    ),
    rule(
        "type(self) == int ? self >= 0"
        " : !isQuantity(self) || quantity(self).compareTo(quantity('0')) >= 0",
        "must not be negative",
    ),
)
PERCENT = r"[0-9]+%"


def int_or_percent_rules(max_percent: int | None) -> tuple[dict[str, str], ...]:
    """A non-negative count or a percentage (at most `max_percent`, when given)."""
    entries = [
        rule(
            f"type(self) == int ? self >= 0 : self.matches(r'^{PERCENT}$')",
            "must be a non-negative integer or a percentage like '25%'",
        )
    ]
    if max_percent is not None:
        entries.append(
            rule(
                f"type(self) == int || !self.matches(r'^{PERCENT}$')"
                f" || int(self.replace('%', '')) <= {max_percent}",
                f"a percentage must be at most {max_percent}%",
            )
        )
    return tuple(entries)
