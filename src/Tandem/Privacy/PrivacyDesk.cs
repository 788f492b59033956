using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.Collect;
using Tandem.Hosting;
using Tandem.Sources;
using Tandem.Storage;
using Tandem.Text;
using Tandem.Trust;
using Tandem.Unify;

namespace Tandem.Privacy;

/// <summary>
/// Carries out privacy requests. Each is recorded first (received), marked processing, then done on
/// the profile processor's thread after it has applied every acknowledged event, so nothing the
/// person sent before the request escapes it. Requests left unfinished by a stop are run again at
/// start: every step can be repeated safely.
/// </summary>
internal sealed partial class PrivacyDesk(
    IPrivacyRequestStore requests,
    ProfileProcessor processor,
    IEventLogReader log,
    IEventLogMaintenance maintenance,
    SuppressionList suppressions,
    ConsentRegistry consent,
    SourceRegistry sources,
    AuditLog audit,
    TimeProvider time,
    ILogger<PrivacyDesk> logger) : IHostedService, IDisposable
{
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private Task _resume = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _resume = Task.Run(async () =>
        {
            foreach (var request in requests.Unfinished())
            {
                await RunAsync(request);
            }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => _resume.WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);

    public void Dispose() => _oneAtATime.Dispose();

    /// <summary>Completes once requests left unfinished by the last stop have been run (tests wait on it).</summary>
    internal Task Resumed => _resume;

    /// <summary>Records a request and carries it out; answers it as it ended, with the export document for an export.</summary>
    public async Task<(PrivacyRequest Request, JsonObject? Export)> FileAsync(string type, string subject, string actor)
    {
        var request = requests.Add(PrivacyRequest.Receive(type, subject, actor, time.GetUtcNow()));
        audit.Append(actor, "privacy.request_received", "privacy:" + request.Id, detail: $"{type} of a person named by {SubjectType(subject)}");
        return await RunAsync(request);
    }

    public async Task<(PrivacyRequest Request, JsonObject? Export)> RunAsync(PrivacyRequest request)
    {
        // Once filed, a request is carried out even if the caller stops waiting: it must not be left half done.
        await _oneAtATime.WaitAsync(CancellationToken.None);
        try
        {
            request = request with { Status = PrivacyRequestStatus.Processing, Attempts = request.Attempts + 1, Error = null };
            requests.Save(request);
            JsonObject result;
            JsonObject? export = null;
            Identifier identifier;
            try
            {
                identifier = await ResolveIdentifierAsync(request.Subject);
                (result, export) = request.Type switch
                {
                    PrivacyRequestTypes.Export => await ExportAsync(request, identifier),
                    PrivacyRequestTypes.Delete => (await DeleteAsync(identifier), null),
                    PrivacyRequestTypes.Suppress => (await SuppressAsync(request, identifier), null),
                    PrivacyRequestTypes.Unsuppress => (Unsuppress(identifier), null),
                    PrivacyRequestTypes.DeleteAndSuppress => (Merge(await SuppressAsync(request, identifier), await DeleteAsync(identifier)), null),
                    _ => throw new InvalidOperationException($"Unknown privacy request type '{request.Type}'."),
                };
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                request = request with { Status = PrivacyRequestStatus.Failed, Error = ex.Message };
                requests.Save(request);
                Log.RequestFailed(logger, request.Id, ex);
                audit.Append(request.RequestedBy, "privacy.request_failed", "privacy:" + request.Id, detail: ex.Message);
                return (request, null);
            }

            // The request keeps proof of what was done, not a copy of who it was about.
            request = request with
            {
                Status = PrivacyRequestStatus.Completed,
                CompletedAt = time.GetUtcNow(),
                Result = result,
                Subject = MaskSubject(identifier.Type + ":" + identifier.Value),
            };
            requests.Save(request);
            audit.Append(request.RequestedBy, "privacy.request_completed", "privacy:" + request.Id, after: result.DeepClone(),
                detail: $"{request.Type} of {request.Subject}");
            return (request, export);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>The identifier the subject names, normalized by the identity rules; profile ids pass as they are.</summary>
    private async Task<Identifier> ResolveIdentifierAsync(string subject)
    {
        _ = ProfileKey.TryParse(subject, out var key);
        if (key.IsProfileId)
        {
            return new Identifier(key.Type, key.Value);
        }

        return await processor.AfterCatchUpAsync(engine => key.Check(engine.Rules, out var id) == KeyCheck.Ok ? id : (Identifier?)null)
            ?? throw new InvalidOperationException($"The {key.Type} given is not an identifier the identity rules accept (a blocked value, or the type was removed).");
    }

    private static Profile? Find(ProfileEngine engine, Identifier identifier) =>
        identifier.Type == ProfileKey.ProfileIdType ? engine.FindById(identifier.Value) : engine.Find(identifier);

    private async Task<(JsonObject, JsonObject?)> ExportAsync(PrivacyRequest request, Identifier identifier)
    {
        var now = time.GetUtcNow();
        var held = await processor.AfterCatchUpAsync(engine => Find(engine, identifier) is { } p ? Describe(engine, p) : null);
        var export = new JsonObject
        {
            ["requestId"] = request.Id,
            ["generatedAt"] = now,
            ["found"] = held is not null,
        };
        var events = 0;
        if (held is not null)
        {
            export["profile"] = held.Profile;
            var array = new JsonArray();
            foreach (var chunk in held.Seqs.Chunk(5_000))
            {
                foreach (var entry in log.ReadSeqs(chunk))
                {
                    array.Add(new JsonObject
                    {
                        ["seq"] = entry.Seq,
                        ["source"] = SourceOf(entry.SourceKey),
                        ["event"] = StoredJson.Parse(entry.Payload),
                    });
                }
            }

            events = array.Count;
            export["events"] = array;
        }

        export["suppressed"] = suppressions.Find(identifier) is not null;
        return (new JsonObject { ["found"] = held is not null, ["profileId"] = held?.ProfileId, ["events"] = events }, export);
    }

    private sealed record HeldProfile(string ProfileId, JsonObject Profile, long[] Seqs);

    /// <summary>Everything the engine holds about the person, in full: the export goes to the person.</summary>
    private HeldProfile Describe(ProfileEngine engine, Profile p)
    {
        var identifiers = new JsonArray();
        foreach (var linked in p.Identifiers)
        {
            identifiers.Add(new JsonObject
            {
                ["type"] = linked.Identifier.Type,
                ["value"] = linked.Identifier.Value,
                ["firstSeen"] = DateTimeOffset.FromUnixTimeMilliseconds(linked.FirstSeenMs),
                ["source"] = SourceOf(linked.SourceKey),
            });
        }

        var traits = new JsonObject();
        foreach (var (key, value) in p.Traits.Entries())
        {
            traits[key] = StoredJson.Parse(value.Json);
        }

        var computed = new JsonObject();
        foreach (var c in engine.ComputedValues(p, time.GetUtcNow()))
        {
            computed[c.Name] = StoredJson.Parse(System.Text.Encoding.UTF8.GetBytes(c.Json));
        }

        var profile = new JsonObject
        {
            ["profileId"] = p.Id,
            ["mergedProfileIds"] = new JsonArray([.. p.MergedIds.Select(id => (JsonNode)id)]),
            ["firstSeen"] = DateTimeOffset.FromUnixTimeMilliseconds(p.FirstSeenMs),
            ["lastSeen"] = DateTimeOffset.FromUnixTimeMilliseconds(p.LastSeenMs),
            ["identifiers"] = identifiers,
            ["traits"] = traits,
            ["computedTraits"] = computed,
            ["accounts"] = new JsonArray([.. p.Accounts.Order(StringComparer.Ordinal).Select(a => (JsonNode)a)]),
            ["consent"] = JsonNode.Parse(ConsentApi.View(p, consent.Catalog, sources)),
        };
        return new HeldProfile(p.Id, profile, p.EventSeqs);
    }

    private JsonObject SourceOf(int key)
    {
        var (id, name) = ProfileApi.SourceNames(sources, key);
        return new JsonObject { ["id"] = id, ["name"] = name };
    }

    /// <summary>
    /// Removes the profile, its identifiers, account memberships and events (the log's rows, overwritten
    /// on disk), and refused events that name it; then snapshots, so neither a restart nor a replay
    /// brings any of it back. Nothing is queued for delivery yet (destinations arrive later), so there
    /// is nothing to cancel there.
    /// </summary>
    private async Task<JsonObject> DeleteAsync(Identifier identifier)
    {
        var forgotten = await processor.ForgetAsync(engine => Find(engine, identifier));
        var known = forgotten?.Identifiers ?? (identifier.Type == ProfileKey.ProfileIdType ? [] : [identifier]);
        var rejections = await DeleteRejectionsAsync([.. known]);
        return new JsonObject
        {
            ["found"] = forgotten is not null,
            ["profileId"] = forgotten?.ProfileId,
            ["mergedProfilesRemoved"] = forgotten?.MergedIds.Count ?? 0,
            ["identifiersRemoved"] = forgotten?.Identifiers.Count ?? 0,
            ["eventsDeleted"] = forgotten?.EventSeqs.Length ?? 0,
            ["accountMembershipsRemoved"] = forgotten?.Accounts.Count ?? 0,
            ["refusedEventsDeleted"] = rejections,
            ["queuedDeliveriesCancelled"] = 0,
        };
    }

    /// <summary>
    /// Refused events are kept raw for the debugger; those naming the person by any identifier they are
    /// known by go too (see <see cref="SuppressionList.Naming"/>), unreadable samples included.
    /// </summary>
    private async Task<int> DeleteRejectionsAsync(IReadOnlyCollection<Identifier> identifiers)
    {
        if (identifiers.Count == 0)
        {
            return 0;
        }

        // Logs written before the collector repaired text may hold refusals that are not valid Unicode.
        var naming = suppressions.Naming(identifiers);
        return await maintenance.DeleteRejectionsAsync(payload => naming(UnicodeRepair.RepairIfNeeded(payload)));
    }

    /// <summary>Suppresses every identifier the person is known by (and the one given), so no event of theirs is stored again.</summary>
    private async Task<JsonObject> SuppressAsync(PrivacyRequest request, Identifier identifier)
    {
        var known = await processor.AfterCatchUpAsync(engine => Find(engine, identifier)?.Identifiers.Select(l => l.Identifier).ToArray() ?? []);
        var all = identifier.Type == ProfileKey.ProfileIdType ? known : known.Append(identifier).Distinct().ToArray();
        var added = suppressions.Suppress(request.Id, all);
        return new JsonObject
        {
            ["identifiersSuppressed"] = added,
            ["identifierTypes"] = new JsonArray([.. all.Select(i => i.Type).Distinct().Order(StringComparer.Ordinal).Select(t => (JsonNode)t)]),
        };
    }

    private JsonObject Unsuppress(Identifier identifier)
    {
        var lifted = suppressions.Unsuppress(identifier);
        return new JsonObject { ["suppressionsLifted"] = new JsonArray([.. lifted.Select(id => (JsonNode)id)]) };
    }

    private static JsonObject Merge(JsonObject a, JsonObject b)
    {
        foreach (var (key, value) in b)
        {
            a[key] = value?.DeepClone();
        }

        return a;
    }

    private static string SubjectType(string subject) => ProfileKey.TryParse(subject, out var key) ? key.Type : "";

    /// <summary><c>email:a***@example.com</c>: recognisable to whoever knows the person, useless to anyone else.</summary>
    internal static string MaskSubject(string subject)
    {
        _ = ProfileKey.TryParse(subject, out var key);
        return key.Masked();
    }
}

/// <summary>Renders requests as the API shows them.</summary>
internal static class PrivacyRequestView
{
    public static JsonObject Of(PrivacyRequest r, DateTimeOffset now, JsonObject? export = null)
    {
        var view = new JsonObject
        {
            ["id"] = r.Id,
            ["type"] = r.Type,
            ["subject"] = r.Subject,
            ["status"] = r.Status,
            ["requestedBy"] = r.RequestedBy,
            ["receivedAt"] = r.ReceivedAt,
            ["dueAt"] = r.DueAt,
            ["completedAt"] = r.CompletedAt,
            ["overdue"] = r.Open && now > r.DueAt,
            ["attempts"] = r.Attempts,
            ["result"] = r.Result?.DeepClone(),
            ["error"] = r.Error,
        };
        if (export is not null)
        {
            view["export"] = export;
        }

        return view;
    }
}
