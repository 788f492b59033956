using System.Globalization;
using System.Text;
using System.Text.Json;
using Tandem.Hosting;
using Tandem.Sources;

namespace Tandem.Collect;

/// <summary>
/// Handles one collector request: authenticate the write key, read and parse the body, append the
/// valid events and the refusals to the ingest log, answer once they are durable.
/// </summary>
internal sealed class Collector(
    SpecParser parser,
    CollectLimits limits,
    SourceRegistry sources,
    IngestionService ingestion,
    CollectMetrics metrics,
    TimeProvider time,
    ILogger<Collector> logger)
{
    private const int SampleBytes = 4 * 1024;

    public async Task HandleAsync(HttpContext context, MessageType? routeType)
    {
        var request = context.Request;
        var receivedAt = time.GetUtcNow();
        if (!WriteKeys.TryFromHeader(request, out var headerKey, out var headerProblem))
        {
            metrics.Refused("bad_credentials");
            await Problems.Unauthorized(headerProblem!).ExecuteAsync(context);
            return;
        }

        Source? source = null;
        if (headerKey is not null && !TryResolve(headerKey, out source, out var keyProblem))
        {
            await keyProblem!.ExecuteAsync(context);
            return;
        }

        using var body = await RequestBody.ReadAsync(request, limits.MaxBatchBytes, context.RequestAborted);
        if (body.Error != BodyReadError.None)
        {
            var (reason, title, detail) = body.Error switch
            {
                BodyReadError.TooLarge => ("batch_too_large", "The request body is larger than 500 KB",
                    $"The body (after decompression) exceeds {limits.MaxBatchBytes:N0} bytes. Send fewer events per request."),
                BodyReadError.BadCompression => ("bad_compression", "The body could not be decompressed",
                    $"Content-Encoding says '{request.Headers.ContentEncoding}' but the body is not valid in that encoding. Compress it, or drop the header."),
                _ => ("unsupported_encoding", "Unsupported Content-Encoding",
                    $"Content-Encoding '{request.Headers.ContentEncoding}' is not supported; use gzip, deflate, br, or none."),
            };
            await RefuseBodyAsync(context, source, receivedAt, new BodyError(reason, title, detail, "body"), body.Sample(SampleBytes));
            return;
        }

        var clientIp = request.Headers.Origin.Count > 0 ? context.Connection.RemoteIpAddress?.ToString() : null;
        var outcome = parser.Parse(body.Memory, routeType, receivedAt, clientIp);
        if (source is null)
        {
            if (string.IsNullOrEmpty(outcome.BodyWriteKey))
            {
                metrics.Refused("missing_write_key");
                await Problems.Unauthorized(
                    "No write key was sent. Send it as the Basic user name (base64 of \"WRITE_KEY:\"), as a Bearer token, or as \"writeKey\" in the body.")
                    .ExecuteAsync(context);
                return;
            }

            if (!TryResolve(outcome.BodyWriteKey, out source, out var bodyKeyProblem))
            {
                await bodyKeyProblem!.ExecuteAsync(context);
                return;
            }
        }

        if (outcome.Error is { } error)
        {
            if (error.Reason is "invalid_json" or "too_deep" && body.CompressionBroken())
            {
                error = new BodyError("bad_compression", "The body could not be decompressed",
                    $"The {request.Headers.ContentEncoding} stream ends early or fails its checksum, so the body is incomplete. Send the whole compressed body again.", "body");
            }

            await RefuseBodyAsync(context, source, receivedAt, error, body.Sample(SampleBytes));
            return;
        }

        var admission = ingestion.Admit(new IngestRequest(source!.Key, outcome.Accepted, outcome.Rejected, receivedAt, WhenSuppressed.DropAndCount));
        var suppressed = admission.Suppressed;
        if (admission.Refusal is { } refusal)
        {
            await RefuseAsync(context, refusal);
            return;
        }

        if (admission.Commit is not { } append)
        {
            // Only suppressed people's events: nothing to store. They are answered as accepted, like
            // any other, so the client does not retry and learns nothing about who is suppressed.
            await WriteAcceptedAsync(context.Response, new AppendResult(0, 0, ingestion.Head), [], [], suppressed);
            return;
        }

        var result = await append;
        metrics.Stored(result.Stored);
        if (result.Deduplicated > 0)
        {
            metrics.Deduplicated(result.Deduplicated);
        }

        foreach (var rejection in outcome.Rejected)
        {
            metrics.Refused(rejection.Reason);
        }

        if (outcome.Accepted.Count == 0 && suppressed == 0)
        {
            var first = outcome.Rejected[0];
            await Problems.Create(StatusCodes.Status400BadRequest, first.Reason,
                outcome.Rejected.Count == 1 ? "The event was refused" : "Every event in the batch was refused",
                outcome.Rejected.Count == 1 ? first.Detail : $"No event was stored. First problem, at {first.Field}: {first.Detail}",
                first.Field, new Dictionary<string, object?> { ["rejected"] = Describe(outcome.Rejected) })
                .ExecuteAsync(context);
            return;
        }

        // Stored, but not byte for byte as sent: the answer says which events and what changed. Refused
        // events are already listed in rejected, with the repaired text as their payload.
        var repaired = outcome.Repairs.Count == 0 ? outcome.Repairs : outcome.Repairs.FindAll(r => !outcome.Rejected.Exists(x => x.Index == r.Index));
        metrics.Repaired(repaired);
        await WriteAcceptedAsync(context.Response, result, outcome.Rejected, repaired, suppressed);
    }

    /// <summary>GET /v1/projects/{writeKey}/settings: what analytics.js (analytics-next) loads before it starts.</summary>
    public async Task SettingsAsync(HttpContext context, string writeKey)
    {
        if (!TryResolve(writeKey, out _, out var problem))
        {
            await problem!.ExecuteAsync(context);
            return;
        }

        // Only Segment.io is listed: any other integration makes analytics-next load device-mode code.
        var request = context.Request;
        await TypedResults.Json(new
        {
            integrations = new Dictionary<string, object>
            {
                ["Segment.io"] = new { apiKey = writeKey, apiHost = request.Host + "/v1", protocol = request.Scheme, unbundledIntegrations = Array.Empty<string>(), addBundledMetadata = true },
            },
            plan = new { track = new { __default = new { enabled = true, integrations = new { } } } },
            analyticsNextEnabled = true,
            middlewareSettings = new { },
            enabledMiddleware = new { },
            metrics = new { sampleRate = 0 }, // no beacon to Segment's own metrics host
            remotePlugins = Array.Empty<object>(),
        }).ExecuteAsync(context);
    }

    private bool TryResolve(string writeKey, out Source? source, out IResult? problem)
    {
        source = sources.FindByWriteKey(writeKey);
        problem = null;
        if (source is null)
        {
            metrics.Refused("unknown_write_key");
            problem = Problems.Create(StatusCodes.Status401Unauthorized, "unknown_write_key", "Unknown write key",
                "No source has this write key. A key is shown once, when its source is created or the key rotated; if it is lost, rotate it (POST /api/v1/sources/{id}/rotate-key) and use the new one.", "writeKey");
            return false;
        }

        if (!source.Enabled)
        {
            metrics.Refused("source_disabled");
            problem = Problems.Create(StatusCodes.Status401Unauthorized, "source_disabled", "The source is disabled",
                $"Source '{source.Name}' ({source.Id}) is disabled, so its write key is refused. An admin can enable it again.", "writeKey");
            return false;
        }

        return true;
    }

    /// <summary>The whole body is unusable: keep it as a rejection when we know whose it is, answer 400.</summary>
    private async Task RefuseBodyAsync(HttpContext context, Source? source, DateTimeOffset receivedAt, BodyError error, byte[] sample)
    {
        metrics.Refused(error.Reason);
        if (source is not null)
        {
            var admission = ingestion.Admit(new IngestRequest(source.Key, [], [new Rejection(null, error.Reason, error.Field, error.Detail, sample)], receivedAt,
                WhenSuppressed.Keep));
            if (admission.Refusal is { } refusal)
            {
                await RefuseAsync(context, refusal);
                return;
            }

            await admission.Commit!;
        }

        Log.BodyRefused(logger, source?.Id ?? "(unknown)", error.Reason);
        await Problems.Create(StatusCodes.Status400BadRequest, error.Reason, error.Title, error.Detail, error.Field).ExecuteAsync(context);
    }

    /// <summary>The log refused the request (overloaded): counted, and answered 429 with Retry-After.</summary>
    private async Task RefuseAsync(HttpContext context, Refusal refusal)
    {
        if (refusal.Kind == RefusalKind.Overloaded)
        {
            metrics.Throttled();
        }

        await Problems.Answer(refusal).ExecuteAsync(context);
    }

    /// <summary>How a refused event is reported, in a 200 with <c>rejected</c> and in a 400 problem alike.</summary>
    private sealed record RefusedEvent(int? Index, string Reason, string Field, string Detail);

    private static List<RefusedEvent> Describe(List<Rejection> rejected) =>
        rejected.ConvertAll(r => new RefusedEvent(r.Index, r.Reason, r.Field, r.Detail));

    private static async Task WriteAcceptedAsync(HttpResponse response, AppendResult result, List<Rejection> rejected, List<Repair> repaired,
        int suppressed)
    {
        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.BodyWriter, TandemJson.Writer);
        writer.WriteStartObject();
        writer.WriteBoolean("success"u8, true);
        writer.WriteNumber("accepted"u8, result.Stored + suppressed);
        writer.WriteNumber("deduplicated"u8, result.Deduplicated);
        if (rejected.Count > 0)
        {
            writer.WritePropertyName("rejected"u8);
            JsonSerializer.Serialize(writer, Describe(rejected), TandemJson.Web);
        }

        if (repaired.Count > 0)
        {
            writer.WritePropertyName("repaired"u8);
            JsonSerializer.Serialize(writer, repaired, TandemJson.Web);
        }

        writer.WriteEndObject();
    }
}

/// <summary>The three places a write key can travel: Basic user name, Bearer token, body <c>writeKey</c>.</summary>
internal static class WriteKeys
{
    /// <returns>False when an Authorization header is present but unusable; <paramref name="problem"/> says why.</returns>
    public static bool TryFromHeader(HttpRequest request, out string? key, out string? problem)
    {
        key = null;
        problem = null;
        var header = request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return true;
        }

        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            var encoded = header.AsSpan(6).Trim();
            var bytes = new byte[(encoded.Length * 3 / 4) + 3];
            if (!Convert.TryFromBase64Chars(encoded, bytes, out var written))
            {
                problem = "The Authorization header's Basic credentials are not valid base64. Send base64 of \"WRITE_KEY:\" (the write key as user name, empty password).";
                return false;
            }

            var text = Encoding.UTF8.GetString(bytes, 0, written);
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            key = colon < 0 ? text : text[..colon];
        }
        else if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            key = header[7..].Trim();
        }
        else
        {
            var scheme = header.Split(' ', 2)[0];
            problem = string.Create(CultureInfo.InvariantCulture,
                $"The Authorization scheme '{scheme}' is not supported. Use Basic (write key as user name) or Bearer (the write key).");
            return false;
        }

        if (key.Length == 0)
        {
            key = null;
        }

        return true;
    }
}
