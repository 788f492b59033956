using System.Text.Json.Nodes;

namespace Tandem.Settings;

/// <summary>One problem with a settings document, at the field it names.</summary>
internal sealed record SettingsError(string Field, string Detail);

/// <summary>Why a document was not saved: the code and title a caller is answered with, and every problem found.</summary>
internal sealed record SettingsRefusal(string Code, string Title, IReadOnlyList<SettingsError> Errors)
{
    public static SettingsRefusal One(string code, string title, string field, string detail) => new(code, title, [new(field, detail)]);
}

/// <summary>
/// What a save did: the document before and after, or why it was refused (nothing changed then).
/// A refusal is data, not an HTTP answer, so the API, the CLI and the console map it each their own way.
/// </summary>
internal sealed record SettingsChange<T>(T? Before, T? After, SettingsRefusal? Refused)
    where T : class
{
    public bool Saved => Refused is null;
}

/// <summary>
/// One workspace settings document: where it is stored, how its stored text reads and writes, and how a
/// change of it is audited. A document without an audit action (identity types, computed traits) is
/// audited by the caller, which records the one definition that changed rather than the whole list.
/// </summary>
internal abstract class SettingsDocument<T>
    where T : class
{
    /// <summary>The key of the document in the settings table.</summary>
    public abstract string Key { get; }

    /// <summary>What stands while nothing usable is stored; null when "not configured" is a state of its own (OIDC).</summary>
    public abstract T? Default { get; }

    public abstract string AuditTarget { get; }

    /// <summary>The audit action of a change that leaves <paramref name="after"/>; null: the caller audits.</summary>
    public abstract string? AuditAction(T? after);

    /// <summary>The stored text as a value, or null when it cannot be used (the default stands, as before the change was made).</summary>
    public abstract T? Read(string stored);

    public abstract string Write(T? value);

    /// <summary>What the audit log keeps of a value; a document with a secret leaves it out.</summary>
    public virtual JsonNode? AuditView(T? value) => value is null ? null : JsonNode.Parse(Write(value));
}

/// <summary>A document that a caller sends whole as JSON text, validated by the document's own parser.</summary>
internal abstract class TextSettingsDocument<T> : SettingsDocument<T>
    where T : class
{
    /// <summary>The document the text describes, or why it cannot be used, with every problem found.</summary>
    public abstract T? Parse(string json, out SettingsRefusal? refusal);

    // A stored text was valid when it was saved; one that no longer parses leaves the default in force.
    public override T? Read(string stored) => Parse(stored, out _);

    /// <summary>A parser's answer as a document's: the value when it is valid, else a refusal listing every problem it found.</summary>
    protected static T? Checked(bool valid, T? value, Func<IEnumerable<SettingsError>> errors, string code, string title, out SettingsRefusal? refusal)
    {
        refusal = valid ? null : new SettingsRefusal(code, title, [.. errors()]);
        return valid ? value : null;
    }
}
