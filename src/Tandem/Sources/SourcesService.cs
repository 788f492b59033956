using Tandem.Trust;

namespace Tandem.Sources;

/// <summary>
/// The rules of sources, for the API, the CLI and the console alike: a source has a name of 1 to 100
/// characters, unique whatever the case; its write key is shown once, when it is issued; every change is
/// audited with what it replaced (of a write key, only its last characters).
/// </summary>
internal sealed class SourcesService(SourceRegistry registry, AuditLog audit)
{
    public const int MaxNameLength = 100;

    public IReadOnlyCollection<Source> List() => registry.All;

    public Source? Find(string id) => registry.FindById(id);

    /// <summary>A new source with a new write key, which this answer alone holds.</summary>
    public Outcome<IssuedSource> Create(Caller caller, string? name)
    {
        if (ValidateName(name) is { } invalid)
        {
            return invalid;
        }

        var (issued, error) = registry.Create(name!.Trim());
        if (error == SourceChangeError.NameTaken)
        {
            return NameTaken(name);
        }

        audit.Record(caller.Actor, "source.create", "source:" + issued!.Source.Id, after: AuditedSource.From(issued.Source));
        return issued;
    }

    /// <summary>Renames, disables or enables a source; at least one of the two is given.</summary>
    public Outcome<Source> Update(Caller caller, string id, string? name, bool? enabled)
    {
        if (name is null && enabled is null)
        {
            return new Refusal(RefusalKind.Invalid, "nothing_to_change", "Nothing to change",
                "Send \"name\" to rename the source and/or \"enabled\" (true or false) to enable or disable it.", "body");
        }

        if (name is not null && ValidateName(name) is { } invalid)
        {
            return invalid;
        }

        var before = registry.FindById(id);
        var (source, error) = registry.Change(id, s => s with { Name = name?.Trim() ?? s.Name, Enabled = enabled ?? s.Enabled });
        switch (error)
        {
            case SourceChangeError.NotFound:
                return Refusal.NotFound("Source", id);
            case SourceChangeError.NameTaken:
                return NameTaken(name!);
        }

        if (before is not null)
        {
            audit.Record(caller.Actor, "source.update", "source:" + id, AuditedSource.From(before), AuditedSource.From(source!));
        }

        return source!;
    }

    /// <summary>Gives the source a new write key, which this answer alone holds; the old one stops working at once.</summary>
    public Outcome<IssuedSource> RotateKey(Caller caller, string id)
    {
        var before = registry.FindById(id);
        var (issued, error) = registry.RotateKey(id);
        if (error == SourceChangeError.NotFound)
        {
            return Refusal.NotFound("Source", id);
        }

        if (before is not null)
        {
            audit.Record(caller.Actor, "source.rotate_key", "source:" + id, AuditedSource.From(before), AuditedSource.From(issued!.Source));
        }

        return issued!;
    }

    private static Refusal? ValidateName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return new Refusal(RefusalKind.Invalid, "missing_name", "A source needs a name",
                "Send {\"name\":\"Website\"}: a non-empty name that says where the events come from.", "name");
        }

        return name.Trim().Length > MaxNameLength
            ? new Refusal(RefusalKind.Invalid, "name_too_long", "The name is too long", $"Source names are at most {MaxNameLength} characters.", "name")
            : null;
    }

    private static Refusal NameTaken(string name) =>
        new(RefusalKind.Conflict, "name_taken", "A source with this name exists", $"Another source is already named '{name.Trim()}'. Choose another name.", "name");

    /// <summary>A source as the audit log keeps it: the write key is a secret, so only its last four characters.</summary>
    private sealed record AuditedSource(string Id, string Name, bool Enabled, string WriteKeyEnding)
    {
        public static AuditedSource From(Source s) => new(s.Id, s.Name, s.Enabled, "…" + s.WriteKeyEnd);
    }
}
