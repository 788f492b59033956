using System.Net.Mail;
using System.Security.Cryptography;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>What a member's (and a token's) fields must be, and the role ceiling: the checks each service runs before it changes anything.</summary>
internal static class MemberFields
{
    public const int MaxNameLength = 100;

    public static Refusal? Email(string? email)
    {
        if (string.IsNullOrWhiteSpace(email) || email.Length > 254 || !MailAddress.TryCreate(email.Trim(), out var parsed) || parsed.Address != email.Trim())
        {
            return new(RefusalKind.Invalid, "invalid_email", "A valid email is required",
                $"\"email\" must be an address such as ada@example.com{(email is null ? "" : $"; '{email}' is not one")}.", "email");
        }

        return null;
    }

    public static Refusal? Name(string? name, bool required)
    {
        if (name is null ? required : string.IsNullOrWhiteSpace(name) || name.Trim().Length > MaxNameLength)
        {
            return new(RefusalKind.Invalid, "invalid_name", "A name is required", $"\"name\" must be 1 to {MaxNameLength} characters.", "name");
        }

        return null;
    }

    public static Refusal? RoleList(string[]? roles, bool required)
    {
        if (roles is not { Length: > 0 })
        {
            return required
                ? new(RefusalKind.Invalid, "roles_required", "At least one role is required",
                    $"Send \"roles\": a list of {string.Join(", ", Roles.ScopesOf.Keys.Order(StringComparer.Ordinal))}.", "roles")
                : null;
        }

        for (var i = 0; i < roles.Length; i++)
        {
            if (roles[i] is not { } role || !Roles.IsKnown(role))
            {
                return new(RefusalKind.Invalid, "unknown_role", "Unknown role",
                    $"'{roles[i]}' is not a role. Roles: {string.Join(", ", Roles.ScopesOf.Keys.Order(StringComparer.Ordinal))}.", $"roles[{i}]");
            }
        }

        return null;
    }

    /// <param name="field">Where the password was sent; only "password" may be left out for a generated one.</param>
    public static Refusal? Password(string? password, string field) =>
        (password is null ? $"A password needs {PasswordRules.MinLength} to {PasswordRules.MaxLength} characters." : PasswordRules.Weakness(password)) is { } why
            ? new(RefusalKind.Invalid, "weak_password", "The password is too weak",
                $"{why} A passphrase of a few unrelated words is easy to remember and hard to guess{(field == "password" ? "; or leave the password out to get a generated one" : "")}.", field)
            : null;

    /// <summary>
    /// Granting roles, or changing a member who holds them, needs every scope those roles bring:
    /// otherwise members:write alone would let a token make an admin, or take one over.
    /// </summary>
    public static Refusal? RoleCeiling(Caller caller, IEnumerable<string> roles)
    {
        var missing = Roles.ScopesFor(roles).Where(scope => !caller.Holds(scope)).Order(StringComparer.Ordinal).ToArray();
        return missing.Length == 0 ? null
            : new(RefusalKind.Forbidden, "role_not_held", "The caller holds less than these roles bring",
                $"Granting a role, or changing a member who has it, needs every scope the role brings. You lack {string.Join(", ", missing.Select(m => $"'{m}'"))}.",
                "roles", new Dictionary<string, object?> { ["scopes"] = missing });
    }

    /// <summary>Shown once to whoever set it; twenty characters from an alphabet without look-alikes.</summary>
    public static string NewPassword() => RandomNumberGenerator.GetString("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 20);

    public static string[] Distinct(string[] values) => [.. values.Distinct(StringComparer.Ordinal)];
}
