using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json.Nodes;

namespace Tandem.Trust;

/// <summary>What keeps the audit log's growth bounded: size caps on every field, and refusals sampled rather than written one by one.</summary>
internal sealed partial class AuditLog
{
    public const int MaxTargetLength = 300;
    public const int MaxDetailLength = 1_000;
    public const int MaxJsonBytes = 16 * 1024;
    public const string TruncatedMarker = "…[truncated]";

    /// <summary>How long refusals of one kind are counted after the first is written.</summary>
    public static readonly TimeSpan RefusalWindow = TimeSpan.FromMinutes(1);

    // One open window per (caller, route, status): a bound on what a stream of distinct callers can make us hold.
    private const int MaxOpenWindows = 10_000;

    private readonly Counter<long> _sampled;
    private readonly ITimer _flushTimer;
    private readonly Lock _refusalGate = new();
    private readonly Dictionary<(string Who, string Action, string Route, int Status), RefusalCount> _refusals = [];

    private sealed class RefusalCount(string actor, DateTimeOffset since)
    {
        public string Actor { get; } = actor;

        public DateTimeOffset Since { get; } = since;

        public long Unwritten { get; set; }
    }

    /// <summary>
    /// Records a refused call (401, 403, 404 by policy, 429). The first per caller, route and status in
    /// a minute is written as <c>api.call</c>; the rest are counted and written as one <c>api.refused</c>
    /// record with their count when the minute is over (at the next refusal, or on the minute's timer).
    /// A token refused a thousand times a second thus costs two records a minute, not sixty thousand.
    /// </summary>
    /// <param name="actor">Who called, as recorded: <c>token:tok_…</c> or <c>anonymous</c>.</param>
    /// <param name="who">Whom refusals are counted by: the token, or the caller's address.</param>
    /// <param name="route">The method and route pattern, never the path: it may carry the very values refused.</param>
    /// <param name="action">What the first is recorded as (<c>api.call</c>, or a sign-in's <c>session.address_throttled</c>).</param>
    /// <param name="target">The first one's target; the route when null. The summary's target is the route.</param>
    public void Refused(string actor, string who, string route, int status, string action = "api.call", string? target = null, string? detail = null)
    {
        var now = _time.GetUtcNow();
        lock (_refusalGate)
        {
            var key = (who, action, route, status);
            if (_refusals.TryGetValue(key, out var open) && now - open.Since < RefusalWindow)
            {
                open.Unwritten++;
                _sampled.Add(1);
                return;
            }

            if (open is not null)
            {
                Summarise(key, open);
            }

            if (_refusals.Count >= MaxOpenWindows)
            {
                FlushRefusals(all: true);
            }

            _refusals[key] = new RefusalCount(actor, now);
            Append(actor, action, target ?? route, detail: detail ?? $"answered {status}");
        }
    }

    /// <summary>Writes the counts of windows that are over (or of all, at shutdown or when too many are open).</summary>
    private void FlushRefusals(bool all = false)
    {
        var now = _time.GetUtcNow();
        lock (_refusalGate)
        {
            foreach (var (key, open) in _refusals.Where(r => all || now - r.Value.Since >= RefusalWindow).ToList())
            {
                Summarise(key, open);
            }
        }
    }

    private void Summarise((string Who, string Action, string Route, int Status) key, RefusalCount open)
    {
        _refusals.Remove(key);
        if (open.Unwritten == 0)
        {
            return;
        }

        var until = open.Since + RefusalWindow;
        Append(open.Actor, "api.refused", key.Route,
            after: new JsonObject { ["count"] = open.Unwritten, ["status"] = key.Status, ["action"] = key.Action, ["since"] = open.Since, ["until"] = until },
            detail: $"answered {key.Status} {open.Unwritten} more time(s) from {open.Since:u} to {until:u}; the first was recorded on its own");
    }

    /// <summary>Cuts text to its cap, with a marker where it was cut (never inside a surrogate pair).</summary>
    internal static string Cap(string text, int max)
    {
        if (text.Length <= max)
        {
            return text;
        }

        var keep = max - TruncatedMarker.Length;
        if (char.IsHighSurrogate(text[keep - 1]))
        {
            keep--;
        }

        return string.Concat(text.AsSpan(0, keep), TruncatedMarker);
    }

    /// <summary>JSON within <see cref="MaxJsonBytes"/> as it is; larger, an object that says it was cut and keeps its start.</summary>
    private static string? CapJson(JsonNode? node)
    {
        var json = node?.ToJsonString();
        if (json is null || Encoding.UTF8.GetByteCount(json) <= MaxJsonBytes)
        {
            return json;
        }

        return new JsonObject
        {
            ["truncated"] = true,
            ["bytes"] = Encoding.UTF8.GetByteCount(json),
            ["start"] = Cap(json, MaxJsonBytes / 4),
        }.ToJsonString();
    }
}
