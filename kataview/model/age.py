"""Ages as kubectl prints them ("45s", "3m10s", "2d3h", "3y45d"): one implementation for the
screens and the API double's Table output, so our AGE columns read exactly like `kubectl get`.

Pure and stdlib only. Follows k8s.io/apimachinery/pkg/util/duration.HumanDuration:

- less than -1 s (truncated toward zero, like Go's int(d.Seconds())): "<invalid>"; -1 s up to
  0 s: "0s" (two seconds of clock skew count as "now");
- under 2 minutes: seconds ("119s");
- under 10 minutes: minutes and seconds ("3m10s", "5m");
- under 3 hours: minutes ("179m");
- under 8 hours: hours and minutes ("7h59m", "3h");
- under 2 days: hours ("47h");
- under 8 days: days and hours ("7d23h", "2d");
- under 2 years (of 365 days): days ("729d");
- under 8 years: years and days ("7y364d", "2y");
- otherwise years ("8y").
"""

from __future__ import annotations

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_YEAR = 365 * _DAY


def human_duration(seconds: float) -> str:
    """kubectl's age text for a duration in seconds (see the module docstring for the rules)."""
    whole = int(seconds)  # truncates toward zero, as Go's int(d.Seconds()) does
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 2 * _MINUTE:
        return f"{whole}s"
    minutes = whole // _MINUTE
    if minutes < 10:
        return _two(minutes, "m", whole % _MINUTE, "s")
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = whole // _HOUR
    if hours < 8:
        return _two(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 8 * 24:
        return _two(days, "d", hours % 24, "h")
    if days < 2 * 365:
        return f"{days}d"
    if days < 8 * 365:
        return _two(days // 365, "y", days % 365, "d")
    return f"{days // 365}y"


def _two(major: int, major_unit: str, minor: int, minor_unit: str) -> str:
    return f"{major}{major_unit}{minor}{minor_unit}" if minor else f"{major}{major_unit}"
