using System.Buffers;
using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;

namespace Tandem.Trust;

/// <summary>One problem with an access policy.</summary>
/// <param name="Field">Where it is, as a path into the policy document: <c>marketer.red</c>; <c>$</c> for the whole document.</param>
/// <param name="Detail">What is wrong and how to fix it.</param>
public sealed record PolicyError(string Field, string Detail);

/// <summary>
/// Who sees what: for each role and PII class, whether a reader gets the value in full, masked or
/// not at all. Immutable; a change makes a new instance. Two rules hold in every policy, so that the
/// classes keep their meaning: green is always shown in full (it is not personal data; restrict a
/// field by classifying it yellow or red), and no role sees red data more than yellow data.
/// </summary>
public sealed class AccessPolicy
{
    private const int ClassCount = 3;
    private const string AllowedExposures = "\"full\", \"masked\" or \"hidden\"";

    /// <summary>
    /// The roles the policy has rules for, in the order the document lists them: the members' role
    /// names (<see cref="Roles.All"/>), matched exactly. Declared first because the static fields below are built from it.
    /// </summary>
    public static IReadOnlyList<string> RoleNames => Roles.All;

    private static readonly FrozenDictionary<string, int> RoleIndex =
        RoleNames.Select((role, i) => (role, i)).ToFrozenDictionary(x => x.role, x => x.i, StringComparer.Ordinal);

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 16 };

    // Cells are [role index * 3 + class], in the order of RoleNames.
    private readonly Exposure[] _cells;

    private AccessPolicy(Exposure[] cells) => _cells = cells;

    /// <summary>
    /// The policy of a new workspace: admins see red data masked (an admin manages the workspace and
    /// rarely needs a card number); only the privacy officer, who answers access requests, sees
    /// everything; viewers see no personal data at all.
    /// </summary>
    public static AccessPolicy Default { get; } = new(DefaultCells());

    /// <summary>
    /// What a member holding <paramref name="roles"/> gets of <paramref name="pii"/> data: the most
    /// permissive exposure of the roles they hold. Unknown roles grant nothing, so a member with no
    /// known role sees green data only.
    /// </summary>
    public Exposure For(IEnumerable<string> roles, PiiClass pii)
    {
        if (!Enum.IsDefined(pii))
        {
            throw new ArgumentOutOfRangeException(nameof(pii), pii, ClassProblem(pii));
        }

        Exposure? best = null;
        foreach (var role in roles)
        {
            if (role is not null && RoleIndex.TryGetValue(role, out var index))
            {
                var exposure = _cells[(index * ClassCount) + (int)pii];
                best = best is null || exposure > best ? exposure : best;
            }
        }

        return best ?? (pii == PiiClass.Green ? Exposure.Full : Exposure.Hidden);
    }

    /// <summary>This policy with one cell changed.</summary>
    /// <exception cref="ArgumentException">The role is unknown, the class or exposure undefined, or the change breaks one of the two rules.</exception>
    public AccessPolicy With(string role, PiiClass pii, Exposure exposure)
    {
        if (!RoleIndex.TryGetValue(role, out var index))
        {
            throw new ArgumentException(UnknownRole(role), nameof(role));
        }

        if (!Enum.IsDefined(pii))
        {
            throw new ArgumentException(ClassProblem(pii), nameof(pii));
        }

        var field = role + "." + pii.Name();
        if (CellProblem(field, pii, exposure) is { } problem)
        {
            throw new ArgumentException(problem, nameof(exposure));
        }

        var cells = (Exposure[])_cells.Clone();
        cells[(index * ClassCount) + (int)pii] = exposure;
        if (OrderProblem(cells, index, blameRed: pii != PiiClass.Yellow) is { } order)
        {
            throw new ArgumentException(order.Detail, nameof(exposure));
        }

        return new AccessPolicy(cells);
    }

    /// <summary>The policy as stored in the workspace settings and shown by the API: every role, every class.</summary>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            for (var i = 0; i < RoleNames.Count; i++)
            {
                writer.WriteStartObject(RoleNames[i]);
                foreach (var pii in TrustNames.Classes)
                {
                    writer.WriteString(pii.Name(), _cells[(i * ClassCount) + (int)pii].Name());
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public override string ToString() => ToJson();

    /// <summary>
    /// Reads a policy document such as <c>{"marketer":{"yellow":"masked","red":"hidden"}}</c>. Roles
    /// and classes left out keep their defaults, so an admin writes only what they change. Reports
    /// every problem at once, each with its field and how to fix it.
    /// </summary>
    public static bool TryParse(string json, [NotNullWhen(true)] out AccessPolicy? policy, out IReadOnlyList<PolicyError> errors)
    {
        policy = null;
        var problems = new List<PolicyError>();
        errors = problems;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException ex)
        {
            problems.Add(new("$", $"The policy is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}). "
                + "Send an object keyed by role, such as {\"marketer\":{\"yellow\":\"masked\",\"red\":\"hidden\"}}."));
            return false;
        }

        var cells = DefaultCells();
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problems.Add(new("$", $"The policy is a JSON object keyed by role, such as {{\"marketer\":{{\"yellow\":\"masked\",\"red\":\"hidden\"}}}}; got {Describe(root.ValueKind)}."));
                return false;
            }

            var roles = new HashSet<string>(StringComparer.Ordinal);
            foreach (var roleProperty in root.EnumerateObject())
            {
                var role = roleProperty.Name;
                if (!roles.Add(role))
                {
                    problems.Add(new(role, $"\"{role}\" appears more than once; keep one."));
                    continue;
                }

                if (!RoleIndex.TryGetValue(role, out var index))
                {
                    problems.Add(new(role, UnknownRole(role)));
                    continue;
                }

                if (roleProperty.Value.ValueKind != JsonValueKind.Object)
                {
                    problems.Add(new(role, $"Give the {role} rules as an object, such as {{\"green\":\"full\",\"yellow\":\"masked\",\"red\":\"hidden\"}}; got {Describe(roleProperty.Value.ValueKind)}."));
                    continue;
                }

                ReadRole(roleProperty.Value, role, index, cells, problems);
            }
        }

        if (problems.Count == 0)
        {
            policy = new AccessPolicy(cells);
        }

        return policy is not null;
    }

    private static void ReadRole(JsonElement rules, string role, int index, Exposure[] cells, List<PolicyError> problems)
    {
        var classes = new HashSet<string>(StringComparer.Ordinal);
        var set = new bool[ClassCount];
        var before = problems.Count;
        foreach (var rule in rules.EnumerateObject())
        {
            var field = role + "." + rule.Name;
            if (!classes.Add(rule.Name))
            {
                problems.Add(new(field, $"\"{rule.Name}\" appears more than once in {role}; keep one."));
                continue;
            }

            if (TrustNames.ParseClass(rule.Name) is not { } pii)
            {
                problems.Add(new(field, $"Unknown class \"{rule.Name}\"{Hint(rule.Name, TrustNames.Classes.Select(c => c.Name()))}. The classes are green, yellow and red."));
                continue;
            }

            if (rule.Value.ValueKind != JsonValueKind.String)
            {
                problems.Add(new(field, $"Set {field} to {AllowedExposures}; got {Describe(rule.Value.ValueKind)}."));
                continue;
            }

            var text = rule.Value.GetString()!;
            if (TrustNames.ParseExposure(text) is not { } exposure)
            {
                problems.Add(new(field, $"Unknown exposure \"{text}\"{Hint(text, ["full", "masked", "hidden"])}. Set {field} to {AllowedExposures}."));
                continue;
            }

            if (CellProblem(field, pii, exposure) is { } problem)
            {
                problems.Add(new(field, problem));
                continue;
            }

            cells[(index * ClassCount) + (int)pii] = exposure;
            set[(int)pii] = true;
        }

        // Only a role whose cells all read cleanly is checked as a whole, so one mistake is not reported twice.
        if (problems.Count == before && OrderProblem(cells, index, blameRed: set[(int)PiiClass.Red] || !set[(int)PiiClass.Yellow]) is { } order)
        {
            problems.Add(order);
        }
    }

    private static string? CellProblem(string field, PiiClass pii, Exposure exposure)
    {
        if (!Enum.IsDefined(exposure))
        {
            return $"Exposure {(int)exposure} is not defined; set {field} to {AllowedExposures}.";
        }

        return pii == PiiClass.Green && exposure != Exposure.Full
            ? $"Set {field} to \"full\" or leave it out: green data is not personal and every role sees it in full. To restrict a field, classify it yellow or red."
            : null;
    }

    private static PolicyError? OrderProblem(Exposure[] cells, int index, bool blameRed)
    {
        var yellow = cells[(index * ClassCount) + (int)PiiClass.Yellow];
        var red = cells[(index * ClassCount) + (int)PiiClass.Red];
        if (red <= yellow)
        {
            return null;
        }

        var role = RoleNames[index];
        return blameRed
            ? new(role + ".red", $"{role}.red (\"{red.Name()}\") shows more than {role}.yellow (\"{yellow.Name()}\"), and red data is never shown more than yellow. "
                + $"Set {role}.red to {Allowed(yellow)}, or raise {role}.yellow first.")
            : new(role + ".yellow", $"{role}.yellow (\"{yellow.Name()}\") shows less than {role}.red (\"{red.Name()}\"), and red data is never shown more than yellow. "
                + $"Set {role}.yellow to {Allowed(red, atLeast: true)}, or lower {role}.red first.");
    }

    private static string Allowed(Exposure bound, bool atLeast = false)
    {
        string[] names = [.. Enum.GetValues<Exposure>().Where(e => atLeast ? e >= bound : e <= bound).OrderDescending().Select(e => "\"" + e.Name() + "\"")];
        return names.Length == 1 ? names[0] : string.Join(", ", names[..^1]) + " or " + names[^1];
    }

    private static string UnknownRole(string role) =>
        $"Unknown role \"{role}\"{Hint(role, RoleNames)}. The roles are {string.Join(", ", RoleNames.Take(RoleNames.Count - 1))} and {RoleNames[^1]}.";

    private static string ClassProblem(PiiClass pii) => $"PII class {(int)pii} is not defined; use green, yellow or red.";

    // Catches the likely slips (Admin, privacy-officer, PrivacyOfficer) without guessing at typos.
    private static string Hint(string given, IEnumerable<string> known)
    {
        var normal = FieldNames.Normalize(given);
        var match = known.FirstOrDefault(k => FieldNames.Normalize(k) == normal);
        return match is null ? "" : $" (did you mean \"{match}\"?)";
    }

    /// <summary>A JSON value's kind as a settings error names it ("got an array"); shared by every settings document.</summary>
    internal static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static Exposure[] DefaultCells()
    {
        var cells = new Exposure[RoleNames.Count * ClassCount];
        Set("admin", Exposure.Full, Exposure.Full, Exposure.Masked);
        Set("privacy_officer", Exposure.Full, Exposure.Full, Exposure.Full);
        Set("it_steward", Exposure.Full, Exposure.Masked, Exposure.Hidden);
        Set("marketer", Exposure.Full, Exposure.Masked, Exposure.Hidden);
        Set("analyst", Exposure.Full, Exposure.Masked, Exposure.Hidden);
        Set("liaison", Exposure.Full, Exposure.Masked, Exposure.Hidden);
        Set("viewer", Exposure.Full, Exposure.Hidden, Exposure.Hidden);
        return cells;

        void Set(string role, Exposure green, Exposure yellow, Exposure red)
        {
            var at = RoleIndex[role] * ClassCount;
            cells[at + (int)PiiClass.Green] = green;
            cells[at + (int)PiiClass.Yellow] = yellow;
            cells[at + (int)PiiClass.Red] = red;
        }
    }
}
