using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tandem.Demo;

/// <summary>The four demo sources, each sending what a real tool of its kind would send.</summary>
internal static class DemoSources
{
    // The four demo source names, in this order:
    public const string Website = "Website", Cms = "CMS", MarketingAutomation = "Marketing automation", Crm = "CRM";
    public static readonly string[] All = [Website, Cms, MarketingAutomation, Crm];

    /// <summary>The CRM's ids, which the demo adds as custom identifier types so that CRM records join the customers they belong to.</summary>
    public static readonly Unify.IdentifierType[] IdentifierTypes =
    [
        new("salesforce_contact_id", Limit: 1, Priority: 4),
        new("salesforce_lead_id", Limit: 1, Priority: 5),
    ];
}

/// <summary>
/// The identifiers one simulated customer owns. <paramref name="AnonymousIds"/> holds the browser
/// cookies (home, a second device, the blog) and the marketing tool's contact id; the CRM lead id is
/// also the anonymous id of the lead's record.
/// </summary>
internal sealed record DemoPerson(string Name, string UserId, string Email, string Phone, string ContactId, string LeadId, IReadOnlyList<string> AnonymousIds);

/// <summary>What the collector made of the demo: events sent, stored as new, dropped as duplicates of an earlier send, refused.</summary>
internal sealed record DemoDelivery(int Sent, int New, int Duplicates, int Refused)
{
    /// <summary>"5,264 new, 0 duplicates": what a person who ran the demo needs to know.</summary>
    public string Outcome()
    {
        var outcome = string.Create(CultureInfo.InvariantCulture, $"{New:N0} new, {Duplicates:N0} duplicates");
        if (Duplicates > 0)
        {
            outcome += " (already sent within the dedup window)";
        }

        if (Refused > 0)
        {
            outcome += string.Create(CultureInfo.InvariantCulture, $", {Refused:N0} refused (see each source's rejections)");
        }

        return outcome;
    }
}

/// <summary>One request body for <c>/v1/batch</c>: a complete <c>{"batch":[...],"sentAt":"..."}</c> object.</summary>
internal sealed record DemoBatch(string SourceName, string Json);

/// <summary>
/// Realistic, deterministic Segment Spec traffic from four sources whose identities overlap the way
/// real ones do: website visitors who sign up (and come back on other devices, one device shared by
/// two people), blog readers who subscribe with their email, marketing contacts keyed by email, and
/// CRM contacts keyed by the website's user id or, for leads, by email only.
/// </summary>
internal sealed partial class DemoTraffic(int seed, DateTimeOffset now)
{
    private const int MaxBatchEvents = 100;

    /// <summary>Well under the collector's 500 KB body limit.</summary>
    private const int MaxBatchBytes = 400 * 1024;

    /// <summary>Deterministic for a given seed and now: same batches every time.</summary>
    public IReadOnlyList<DemoBatch> Generate(int people) => [.. Build(people).Select(b => b.Batch)];

    /// <summary>The simulated customers' identifiers, in order; the first N are the same for any larger count.</summary>
    public IReadOnlyList<DemoPerson> People(int people)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(people);
        return [.. new Simulation(seed, now).Run(people).People.Select(Simulation.Identifiers)];
    }

    /// <summary>
    /// POSTs every batch to <c>{collectorBase}/v1/batch</c> with the source's write key as the Basic user name.
    /// Throws <see cref="HttpRequestException"/> (with the answer's body) on the first answer that is not 2xx.
    /// </summary>
    /// <returns>How many events were sent, and what the collector's answers say became of them.</returns>
    public async Task<DemoDelivery> SendAsync(HttpClient http, Uri collectorBase, IReadOnlyDictionary<string, string> writeKeys, int people,
        CancellationToken cancellationToken)
    {
        var missing = DemoSources.All.Where(name => !writeKeys.ContainsKey(name)).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException($"No write key for the demo source(s): {string.Join(", ", missing)}.", nameof(writeKeys));
        }

        var endpoint = new Uri(collectorBase.AbsoluteUri.TrimEnd('/') + "/v1/batch");
        var delivery = new DemoDelivery(0, 0, 0, 0);
        foreach (var (batch, count) in Build(people))
        {
            var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes(writeKeys[batch.SourceName] + ":"));
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint);
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", credentials);
            request.Content = new StringContent(batch.Json, Encoding.UTF8, "application/json");
            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                throw new HttpRequestException(
                    $"The collector answered {(int)response.StatusCode} {response.ReasonPhrase} to a {batch.SourceName} batch of {count} events: {body}",
                    null, response.StatusCode);
            }

            delivery = Add(delivery, count, await response.Content.ReadAsStringAsync(cancellationToken));
        }

        return delivery;
    }

    /// <summary>Reads the collector's 200 answer: <c>accepted</c> (stored), <c>deduplicated</c> and the <c>rejected</c> list.</summary>
    private static DemoDelivery Add(DemoDelivery total, int count, string answer)
    {
        int? accepted = null, deduplicated = null, refused = null;
        try
        {
            using var document = JsonDocument.Parse(answer);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                accepted = root.TryGetProperty("accepted", out var a) && a.TryGetInt32(out var av) ? av : null;
                deduplicated = root.TryGetProperty("deduplicated", out var d) && d.TryGetInt32(out var dv) ? dv : null;
                refused = root.TryGetProperty("rejected", out var r) && r.ValueKind == JsonValueKind.Array ? r.GetArrayLength() : null;
            }
        }
        catch (JsonException)
        {
            // A 2xx without the counts (an older server or a proxy): every event is taken as new.
        }

        var duplicates = deduplicated ?? 0;
        var rejected = refused ?? 0;
        var stored = accepted ?? Math.Max(0, count - duplicates - rejected);
        return new DemoDelivery(total.Sent + count, total.New + stored, total.Duplicates + duplicates, total.Refused + rejected);
    }

    private List<(DemoBatch Batch, int Count)> Build(int people)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(people);
        var events = new Simulation(seed, now).Run(people).Events;
        var sentAt = Iso(now);
        var batches = new List<(DemoBatch, int)>();
        foreach (var source in DemoSources.All)
        {
            var encoded = events
                .Where(e => e.Source == source)
                .OrderBy(e => e.Timestamp)
                .ThenBy(e => e.Sequence)
                .Select(e => Encode(e.Message))
                .ToList();
            var start = 0;
            while (start < encoded.Count)
            {
                var count = 0;
                var bytes = 64;
                while (start + count < encoded.Count && count < MaxBatchEvents
                    && (count == 0 || bytes + encoded[start + count].Length + 1 <= MaxBatchBytes))
                {
                    bytes += encoded[start + count].Length + 1;
                    count++;
                }

                batches.Add((new DemoBatch(source, Body(encoded.GetRange(start, count), sentAt)), count));
                start += count;
            }
        }

        return batches;
    }

    private static byte[] Encode(JsonObject message)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            message.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static string Body(List<byte[]> events, string sentAt)
    {
        var buffer = new ArrayBufferWriter<byte>(events.Sum(e => e.Length + 1) + 64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("batch");
            foreach (var e in events)
            {
                writer.WriteRawValue(e, skipInputValidation: true);
            }

            writer.WriteEndArray();
            writer.WriteString("sentAt", sentAt);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Iso(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
