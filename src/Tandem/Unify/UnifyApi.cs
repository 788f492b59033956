using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Tandem.Hosting;
using Tandem.Sources;
using Tandem.Trust;

namespace Tandem.Unify;

/// <summary>
/// Management of unification: find profiles, explain merges, read accounts, configure identifier
/// types and computed traits, and see how far the processor has read the log.
/// </summary>
internal static class UnifyApi
{
    private const int MaxSearchResults = 100;
    private const int DefaultSearchResults = 20;
    private const int MaxNameLength = 100;

    public sealed record ProfileSummary(string ProfileId, IReadOnlyList<string> Identifiers, IReadOnlyDictionary<string, JsonElement> Traits,
        DateTimeOffset FirstSeen, DateTimeOffset LastSeen, long EventCount);

    public sealed record MergeView(long Seq, string MessageId, DateTimeOffset EventTimestamp, string? SourceId, string? SourceName, string Rule,
        string Survivor, string Absorbed, string Via, IReadOnlyList<string> EventIdentifiers, IReadOnlyList<string> AbsorbedIdentifiers, string Explanation);

    public sealed record DeclinedView(long Seq, string MessageId, string Identifier, string? OtherProfileId, string Reason);

    public sealed record MergeHistory(string ProfileId, IReadOnlyList<string> MergedProfileIds, IReadOnlyList<MergeView> Merges, IReadOnlyList<DeclinedView> Declined);

    public sealed record AccountView(string GroupId, IReadOnlyDictionary<string, JsonElement> Traits, DateTimeOffset FirstSeen, DateTimeOffset LastSeen,
        IReadOnlyList<string> Members);

    public sealed record IdentifierTypeRequest(int? Limit, int? Priority, IReadOnlyList<string>? BlockedValues, IReadOnlyList<string>? BlockedPatterns, string? TraitKey);

    public static RouteGroupBuilder MapUnifyApi(this RouteGroupBuilder root)
    {
        // Until the snapshot is loaded the engine is an empty stand-in: answer nothing from it, change nothing in it.
        var api = root.MapGroup("").WhenProfilesLoaded();
        var profiles = api.MapGroup("/profiles").WithTags("Profiles");
        profiles.MapGet("/", Search).RequireScope(Scopes.ProfilesRead).WithSummary("Finds profiles by identifier value prefix or trait value (?search=, ?limit= ≤ 100)");
        profiles.MapGet("/{profileId}/merges", Merges).RequireScope(Scopes.ProfilesRead).WithSummary("Why this is one customer: every merge with the event and rule that made it, and links declined by a limit");

        api.MapGet("/accounts/{groupId}", Account).RequireScope(Scopes.ProfilesRead).WithTags("Profiles").WithSummary("An account from group calls: traits and member profiles");
        api.MapProcessorApi();

        var types = api.MapGroup("/identity/types").WithTags("Identity");
        types.MapGet("/", (ProfileProcessor p) => TypedResults.Ok(p.Read(e => e.Rules.Types.Select(IdentifierTypeView.From).ToArray())))
            .RequireScope(Scopes.IdentityRead).WithSummary("Identifier types with their limits, priorities and blocked values");
        types.MapPut("/{name}", PutTypeAsync).RequireScope(Scopes.IdentityWrite).WithSummary("Adds a custom identifier type or changes one (limit, priority, blocked values and patterns, trait key)");
        types.MapDelete("/{name}", DeleteTypeAsync).RequireScope(Scopes.IdentityWrite).WithSummary("Removes a custom identifier type (built-in ones can be changed, not removed)");

        var computed = api.MapGroup("/computed-traits").WithTags("Computed traits");
        computed.MapGet("/", (ProfileProcessor p) => TypedResults.Ok(p.Read(e => e.ComputedTraits.Select(UnifySettings.ToView).ToArray())))
            .RequireScope(Scopes.TraitsRead).WithSummary("Computed traits in force");
        computed.MapPut("/{name}", PutComputedAsync).RequireScope(Scopes.TraitsWrite).WithSummary("Defines or redefines a computed trait; past events are folded in before the call returns");
        computed.MapDelete("/{name}", DeleteComputedAsync).RequireScope(Scopes.TraitsWrite).WithSummary("Stops computing a trait and drops its values");
        return root;
    }

    private static IResult Search(HttpContext context, string? search, string? limit, ProfileProcessor processor, PiiGuard pii)
    {
        if (string.IsNullOrWhiteSpace(search))
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "missing_search", "Nothing to search for",
                "Pass ?search= with the start of an identifier value (an email, a user id…) or a trait value.", "search");
        }

        var (max, invalid) = Paging.Limit(limit, DefaultSearchResults, MaxSearchResults);
        if (invalid is not null)
        {
            return invalid;
        }

        // Searching by a value the caller may not see is allowed (they typed it); what comes back is masked.
        var term = search.Trim();
        var lens = pii.For(context);
        var found = processor.Read(engine => engine.FindProfiles(term, p => Matches(p, term, lens), max).Select(p => Summary(p, lens)).ToArray());
        lens.AuditRead();
        return TypedResults.Ok(new { data = found });
    }

    /// <summary>
    /// Search must not reveal what the caller may not see: a prefix search on a masked email or a
    /// hidden card number, repeated, would spell the value out. So a prefix matches only values the
    /// caller sees in full; a masked value matches only when the whole value is typed (as a lookup by
    /// that identifier would); a hidden value never matches.
    /// </summary>
    private static bool Matches(Profile profile, string term, PiiLens lens)
    {
        foreach (var linked in profile.Identifiers)
        {
            if (Match(linked.Identifier.Value, term, lens.IdentifierExposure(linked.Identifier.Type)))
            {
                return true;
            }
        }

        foreach (var (key, value) in profile.Traits.Entries())
        {
            // Only string traits are searched (the JSON quotes are skipped).
            if (value.Json.Length > term.Length && value.Json[0] == '"'
                && Match(Encoding.UTF8.GetString(value.Json, 1, value.Json.Length - 2), term, lens.TraitExposure(key)))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Match(string value, string term, Exposure exposure) => exposure switch
    {
        Exposure.Full => value.StartsWith(term, StringComparison.OrdinalIgnoreCase),
        Exposure.Masked => value.Equals(term, StringComparison.OrdinalIgnoreCase),
        _ => false,
    };

    private static ProfileSummary Summary(Profile p, PiiLens lens) => new(
        p.Id,
        [.. p.Identifiers.Select(l => lens.IdentifierText(l.Identifier, p.Id + ".identifiers"))],
        lens.TraitElements(p.Traits.Entries().Select(e => (e.Key, e.Value.Json)), p.Id + ".traits"),
        DateTimeOffset.FromUnixTimeMilliseconds(p.FirstSeenMs),
        DateTimeOffset.FromUnixTimeMilliseconds(p.LastSeenMs),
        p.EventCount);

    private static IResult Merges(HttpContext context, string profileId, ProfileProcessor processor, SourceRegistry sources, PiiGuard pii)
    {
        var lens = pii.For(context);
        lens.About("profile:" + profileId);
        string Show(Identifier i) => lens.IdentifierText(i, "merges");
        var history = processor.Read(engine => engine.FindById(profileId) is { } p
            ? new MergeHistory(p.Id, p.MergedIds, [.. p.Merges.OrderBy(m => m.Seq).ThenBy(m => m.AbsorbedId, StringComparer.Ordinal).Select(m => View(m, sources, Show))],
                [.. p.Declined.Select(d => new DeclinedView(d.Seq, d.MessageId, Show(d.Identifier), d.OtherProfileId, d.Reason))])
            : null);
        lens.AuditRead();
        return history is null ? Problems.NotFound("Profile", profileId) : TypedResults.Ok(history);
    }

    /// <param name="show">How an identifier is written for this caller (masked by the PII policy).</param>
    private static MergeView View(MergeRecord m, SourceRegistry sources, Func<Identifier, string> show)
    {
        var source = sources.FindByKey(m.SourceKey);
        var at = DateTimeOffset.FromUnixTimeMilliseconds(m.EventTimestampMs);
        var eventIds = m.EventIdentifiers.Select(show).ToArray();
        var absorbedIds = m.AbsorbedIdentifiers.Select(show).ToArray();
        var via = show(m.Via);
        var why = m.Rule == "alias"
            ? $"An alias call ({m.MessageId}) said {via} is the same customer as {eventIds[0]}."
            : $"Event {m.MessageId} carried {string.Join(", ", eventIds)} together, so the profiles holding them are one customer; {via} linked the second profile.";
        var explanation = $"{why} No identifier limit was exceeded, so {m.AbsorbedId} (with {string.Join(", ", absorbedIds)}) was merged into {m.SurvivorId}, the older profile, at {at:u} from {source?.Name ?? "an unknown source"}.";
        return new MergeView(m.Seq, m.MessageId, at, source?.Id, source?.Name, m.Rule, m.SurvivorId, m.AbsorbedId, via, eventIds, absorbedIds, explanation);
    }

    private static IResult Account(HttpContext context, string groupId, ProfileProcessor processor, PiiGuard pii)
    {
        var lens = pii.For(context);
        lens.About("account:" + groupId);
        var view = processor.Read(engine => engine.FindAccount(groupId) is { } a
            ? new AccountView(a.GroupId, lens.TraitElements(a.Traits.Entries().Select(e => (e.Key, e.Value.Json)), "account.traits"),
                DateTimeOffset.FromUnixTimeMilliseconds(a.FirstSeenMs), DateTimeOffset.FromUnixTimeMilliseconds(a.LastSeenMs),
                [.. a.MemberIds.Order(StringComparer.Ordinal)])
            : null);
        lens.AuditRead();
        return view is null ? Problems.NotFound("Account", groupId) : TypedResults.Ok(view);
    }

    private static async Task<IResult> PutTypeAsync(string name, HttpRequest request, ProfileProcessor processor, AuditLog audit, ClaimsPrincipal user)
    {
        if (!IsName(name))
        {
            return InvalidName("name", name);
        }

        var (body, problem) = await JsonBody.ReadAsync<IdentifierTypeRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.Limit is < 1 or > 1000)
        {
            return Invalid("limit", "The limit is how many values of this type one profile may hold: between 1 and 1000.");
        }

        if (body.Priority is < 1 or > 1000)
        {
            return Invalid("priority", "The priority orders identifier types, 1 the strongest: between 1 and 1000.");
        }

        if (NullItem(body.BlockedValues, "blockedValues") is { } nullValue)
        {
            return nullValue;
        }

        if (NullItem(body.BlockedPatterns, "blockedPatterns") is { } nullPattern)
        {
            return nullPattern;
        }

        if (BlockedPatterns.Check(body.BlockedValues, body.BlockedPatterns) is { } refused)
        {
            return Problems.Create(StatusCodes.Status400BadRequest, refused.Reason, "The blocked values or patterns cannot be saved", refused.Detail, refused.Field);
        }

        if (body.TraitKey is { } traitKey && (traitKey.Length == 0 || traitKey.Length > MaxNameLength))
        {
            return Invalid("traitKey", "The trait key is the name of a trait whose value is also this identifier, such as \"salesforceId\".");
        }

        var builtIn = new IdentifierType(name, 1, 1).BuiltIn;
        if (builtIn && body.TraitKey is not null)
        {
            return Invalid("traitKey", $"{name} is built in and read from its own fields; a trait key is only for custom types.");
        }

        // Read, change and save on the processor's loop, so concurrent changes cannot overwrite each other.
        var (view, before) = await processor.ChangeRulesAsync(current =>
        {
            var existing = current.Find(name);
            var type = new IdentifierType(name, body.Limit ?? existing?.Limit ?? 5, body.Priority ?? existing?.Priority ?? 5,
                body.BlockedValues ?? existing?.BlockedValues ?? [], body.BlockedPatterns ?? existing?.BlockedPatterns ?? [],
                body.TraitKey ?? existing?.TraitKey);
            return (new IdentityRules(current.Types.Where(t => t.Name != name).Append(type)), (IdentifierTypeView.From(type), existing is null ? null : IdentifierTypeView.From(existing)));
        }, request.HttpContext.RequestAborted);
        audit.Record(user, "identity_type.put", "identity_type:" + name, before, view);
        return before is null ? TypedResults.Created($"/api/v1/identity/types/{name}", view) : TypedResults.Ok(view);
    }

    private static async Task<IResult> DeleteTypeAsync(string name, HttpContext context, ProfileProcessor processor, AuditLog audit)
    {
        var (outcome, before) = await processor.ChangeRulesAsync<(string, IdentifierTypeView?)>(current => current.Find(name) switch
        {
            null => (null, ("missing", null)),
            { BuiltIn: true } => (null, ("built_in", null)),
            { } existing => (new IdentityRules(current.Types.Where(t => t.Name != name)), ("deleted", IdentifierTypeView.From(existing))),
        }, context.RequestAborted);
        if (before is not null)
        {
            audit.Record(context.User, "identity_type.delete", "identity_type:" + name, before: before);
        }

        return outcome switch
        {
            "missing" => Problems.NotFound("Identifier type", name),
            "built_in" => Problems.Create(StatusCodes.Status409Conflict, "built_in_type", "Built-in identifier types cannot be removed",
                $"{name} is built in. Change its limit, priority or blocked values with PUT instead.", "name"),
            _ => TypedResults.NoContent(),
        };
    }

    private static async Task<IResult> PutComputedAsync(string name, HttpRequest request, ProfileProcessor processor, AuditLog audit, ClaimsPrincipal user, PiiGuard pii)
    {
        if (!IsName(name))
        {
            return InvalidName("name", name);
        }

        var (body, problem) = await JsonBody.ReadAsync<ComputedTraitView>(request);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.Name is { } given && given != name)
        {
            return Invalid("name", $"The body names '{given}' but the path names '{name}'. Leave \"name\" out of the body or make them match.");
        }

        var definition = UnifySettings.ToDefinition(body with { Name = name }, out var invalid);
        if (definition is null)
        {
            return Invalid(invalid!.Value.Field, invalid.Value.Detail);
        }

        if (NotReadable(definition, pii, request.HttpContext) is { } refused)
        {
            return refused;
        }

        var classifier = pii.CurrentClassifier();
        var before = processor.Read(e => e.ComputedTraits.FirstOrDefault(d => d.Name == name) is { } d ? UnifySettings.ToView(d) : null);
        var existed = await processor.DefineComputedTraitAsync(definition, request.HttpContext.RequestAborted);
        var view = UnifySettings.ToView(definition);
        audit.Record(user, "computed_trait.put", "computed_trait:" + name, ForAudit(before, classifier), ForAudit(view, classifier));
        return existed ? TypedResults.Ok(view) : TypedResults.Created($"/api/v1/computed-traits/{name}", view);
    }

    /// <summary>
    /// A definition as the audit log keeps it: a condition comparing a yellow or red property keeps its
    /// property and operator, not the value (<c>where email equals ada@…</c> would put a customer's
    /// email in the permanent log).
    /// </summary>
    private static ComputedTraitView? ForAudit(ComputedTraitView? view, PiiClassifier classifier) =>
        view?.Where is not { Count: > 0 } where ? view : view with
        {
            Where = [.. where.Select(c => c.Value is null || c.Property is null || classifier.ClassifyEventPath("properties." + c.Property) == PiiClass.Green
                ? c
                : c with { Value = JsonSerializer.SerializeToElement("(" + classifier.ClassifyEventPath("properties." + c.Property).Name() + " value withheld)") })],
        };

    /// <summary>
    /// A computed trait shows its values to everyone who reads traits, so defining one is reading what
    /// it aggregates: refused unless the caller reads that data in full (docs/pii.md).
    /// </summary>
    private static ProblemHttpResult? NotReadable(ComputedTraitDefinition definition, PiiGuard pii, HttpContext context)
    {
        var lens = pii.For(context);
        var derived = DerivedClasses.OfComputedTrait(lens.Classifier, definition);
        if (lens.ExposureOf(derived.Class) == Exposure.Full)
        {
            return null;
        }

        var property = derived.Path!["properties.".Length..];
        return Problems.Create(StatusCodes.Status403Forbidden, "class_not_readable", "The computed trait would read data you cannot read in full",
            $"'{property}' ({derived.Path}) is {derived.Class.Name()} data, which you see {lens.ExposureOf(derived.Class).Name()}, and a computed trait "
            + $"over it takes its class. Defining it needs {pii.WhoReadsInFull(context.User, derived.Class)}. Aggregations that only count "
            + "(count, unique_count) and exists or not_exists conditions read no values and need nothing more.", derived.Field);
    }

    private static async Task<IResult> DeleteComputedAsync(string name, HttpContext context, ProfileProcessor processor, AuditLog audit, PiiGuard pii)
    {
        var before = processor.Read(e => e.ComputedTraits.FirstOrDefault(d => d.Name == name) is { } d ? UnifySettings.ToView(d) : null);
        if (!await processor.RemoveComputedTraitAsync(name, context.RequestAborted))
        {
            return Problems.NotFound("Computed trait", name);
        }

        audit.Record(context.User, "computed_trait.delete", "computed_trait:" + name, before: ForAudit(before, pii.CurrentClassifier()));
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult? NullItem(IReadOnlyList<string>? items, string field)
    {
        for (var i = 0; i < (items?.Count ?? 0); i++)
        {
            if (items![i] is null)
            {
                return Invalid($"{field}[{i}]", "List items must be strings; remove the null.");
            }
        }

        return null;
    }

    private static bool IsName(string name) =>
        name.Length is > 0 and <= MaxNameLength && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');

    private static ProblemHttpResult InvalidName(string field, string name) =>
        Invalid(field, $"'{name}' is not a usable name: use 1 to {MaxNameLength} letters, digits, '_', '-' or '.'.");

    private static ProblemHttpResult Invalid(string field, string detail) =>
        Problems.Create(StatusCodes.Status400BadRequest, "invalid_field", $"'{field}' is not valid", detail, field);
}
