using System.Net.Mail;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>Members, API tokens, console sign-in, and the scope and role catalog.</summary>
internal static partial class TrustApi
{
    private const int MaxNameLength = 100;
    private const int MaxPasswordLength = PasswordRules.MaxLength;

    public sealed record CreateMemberRequest(string? Email, string? Name, string[]? Roles, string? Password);

    public sealed record UpdateMemberRequest(string? Name, string[]? Roles, bool? Disabled);

    public sealed record PasswordRequest(string? Password);

    public sealed record SignInRequest(string? Email, string? Password);

    public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

    public sealed record CreateTokenRequest(string? Name, string[]? Scopes, DateTimeOffset? ExpiresAt, string? OwnerId);

    public sealed record MemberView(string Id, string Email, string Name, IReadOnlyList<string> Roles, bool Disabled, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
    {
        public static MemberView From(Member m) => new(m.Id, m.Email, m.Name, m.Roles, m.Disabled, m.CreatedAt, m.UpdatedAt);
    }

    public sealed record CreatedMemberView(MemberView Member, string? InitialPassword);

    /// <param name="ParentId">The token that minted it (revoking that one revokes this one).</param>
    /// <param name="ReadsAs">The roles whose view of personal data it gets: its owner's, narrowed by the token that minted it.</param>
    public sealed record TokenView(string Id, string Name, string? OwnerId, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt,
        DateTimeOffset? RevokedAt, string Status, string? ParentId, IReadOnlyList<string> ReadsAs)
    {
        public static TokenView From(ApiToken t, DateTimeOffset now, TokenRegistry tokens, MemberRegistry members)
        {
            var standing = TokenStanding.Of(t, tokens, members, now);
            return new(t.Id, t.Name, t.OwnerId, t.Scopes, t.CreatedAt, t.ExpiresAt, t.RevokedAt,
                t.RevokedAt is not null ? "revoked" : t.ExpiresAt <= now ? "expired" : standing.Failure is { } failure ? failure.Reason : "active",
                t.ParentId, standing.ReadsAs);
        }

        /// <summary>As stored, without looking at owner or parent (a command working on the data folder, for admin tokens).</summary>
        public static TokenView From(ApiToken t, DateTimeOffset now, IReadOnlyList<string> readsAs) => new(t.Id, t.Name, t.OwnerId, t.Scopes, t.CreatedAt,
            t.ExpiresAt, t.RevokedAt, t.RevokedAt is not null ? "revoked" : t.ExpiresAt <= now ? "expired" : "active", t.ParentId, readsAs);
    }

    public sealed record CreatedTokenView(string Id, string Token, string Name, string? OwnerId, IReadOnlyList<string> Scopes, DateTimeOffset? ExpiresAt,
        string? ParentId, IReadOnlyList<string> ReadsAs);

    public sealed record SessionView(string Caller, MemberView? Member, IReadOnlyList<string> Roles, IReadOnlyList<string> Scopes, string? CsrfToken);

    public static RouteGroupBuilder MapTrustApi(this RouteGroupBuilder api)
    {
        var members = api.MapGroup("/members").WithTags("Members");
        members.MapGet("/", (MemberRegistry registry) => TypedResults.Ok(registry.All.Select(MemberView.From).ToArray()))
            .RequireScope(Scopes.MembersRead).WithSummary("Lists members and their roles");
        members.MapGet("/{id}", (string id, MemberRegistry registry) => registry.Find(id) is { } m ? (IResult)TypedResults.Ok(MemberView.From(m)) : Problems.NotFound("Member", id))
            .RequireScope(Scopes.MembersRead).WithSummary("Gets one member");
        members.MapPost("/", CreateMemberAsync).RequireScope(Scopes.MembersWrite)
            .WithSummary("Adds a member with roles; without a password, an initial one is generated and shown once");
        members.MapPatch("/{id}", UpdateMemberAsync).RequireScope(Scopes.MembersWrite).WithSummary("Renames a member, changes their roles, disables or enables them");
        members.MapDelete("/{id}", DeleteMember).RequireScope(Scopes.MembersWrite).WithSummary("Removes a member and revokes their API tokens");
        members.MapPost("/{id}/password", ResetPasswordAsync).RequireScope(Scopes.MembersWrite)
            .WithSummary("Sets a member's password (generated and shown once when none is sent) and lifts a lockout");

        var tokens = api.MapGroup("/tokens").WithTags("API tokens");
        tokens.MapGet("/", ListTokens).RequireScope(Scopes.TokensWrite)
            .WithSummary("The caller's API tokens; with members:write, ?owner=all or ?owner={memberId}");
        tokens.MapPost("/", CreateTokenAsync).RequireScope(Scopes.TokensWrite)
            .WithSummary("Creates an API token with scopes (never more than the owner holds) and an optional expiry; the token is shown once");
        tokens.MapDelete("/{id}", RevokeToken).RequireScope(Scopes.TokensWrite).WithSummary("Revokes an API token at once");

        var session = api.MapGroup("/session").WithTags("Session");
        session.MapPost("/", SignInAsync).AllowPublic()
            .WithSummary("Signs a member in to the console: sets the session cookie and answers the CSRF token to send on changes");
        session.MapGet("/", Session).RequireSignedIn().WithSummary("Who is calling: member, roles and scopes (and the CSRF token of a console session)");
        session.MapDelete("/", SignOutAsync).RequireSignedIn().WithSummary("Signs out of the console");
        session.MapPut("/password", ChangePasswordAsync).RequireSignedIn().WithSummary("Changes the signed-in member's own password");

        api.MapGet("/scopes", () => TypedResults.Ok(new
        {
            scopes = Scopes.Catalog.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new { name = p.Key, description = p.Value }),
            roles = Roles.ScopesOf.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new { name = p.Key, scopes = p.Value.Order(StringComparer.Ordinal) }),
        })).RequireSignedIn().WithTags("Members").WithSummary("Every scope and what it allows; every role and the scopes it brings");
        return api;
    }

    private static async Task<IResult> CreateMemberAsync(HttpRequest request, MemberRegistry registry, AuditLog audit, ClaimsPrincipal user)
    {
        var (body, problem) = await JsonBody.ReadAsync<CreateMemberRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        if ((ValidateEmail(body!.Email) ?? ValidateName(body.Name, required: true) ?? ValidateRoles(body.Roles, required: true)
            ?? (body.Password is null ? null : ValidatePassword(body.Password, "password"))) is { } invalid)
        {
            return invalid;
        }

        if (NotHeld(user, body.Roles!) is { } beyond)
        {
            return beyond;
        }

        var generated = body.Password is null ? NewPassword() : null;
        var member = registry.Add(body.Email!.Trim(), body.Name!.Trim(), Distinct(body.Roles!), body.Password ?? generated!);
        if (member is not null)
        {
            audit.Record(user, "member.create", "member:" + member.Id, after: MemberView.From(member));
        }

        return member is null
            ? Problems.Create(StatusCodes.Status409Conflict, "email_taken", "A member has this email",
                $"'{body.Email}' already belongs to a member. Change that member's roles with PATCH /api/v1/members/{{id}} instead.", "email")
            : TypedResults.Created($"/api/v1/members/{member.Id}", new CreatedMemberView(MemberView.From(member), generated));
    }

    private static async Task<IResult> UpdateMemberAsync(string id, HttpRequest request, MemberRegistry registry, AuditLog audit, ClaimsPrincipal user)
    {
        var (body, problem) = await JsonBody.ReadAsync<UpdateMemberRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.Name is null && body.Roles is null && body.Disabled is null)
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "nothing_to_change", "Nothing to change",
                "Send \"name\", \"roles\" (a list) and/or \"disabled\" (true or false).", "body");
        }

        if (((body.Name is null ? null : ValidateName(body.Name, required: true)) ?? (body.Roles is null ? null : ValidateRoles(body.Roles, required: true))) is { } invalid)
        {
            return invalid;
        }

        if (registry.Find(id) is not { } member)
        {
            return Problems.NotFound("Member", id);
        }

        if ((NotHeld(user, member.Roles) ?? NotHeld(user, body.Roles ?? [])) is { } beyond)
        {
            return beyond;
        }

        Member updated;
        lock (MemberChanges)
        {
            // Re-read under the lock: two changes at once must not both pass the last-admin check.
            member = registry.Find(id) ?? member;
            var changed = member with { Name = body.Name?.Trim() ?? member.Name, Roles = body.Roles is null ? member.Roles : Distinct(body.Roles), Disabled = body.Disabled ?? member.Disabled };
            if (LeavesNoAdmin(registry, member, changed))
            {
                return LastAdmin(member.Id == user.MemberId() ? "yourself" : member.Email);
            }

            updated = registry.Update(changed);
        }

        audit.Record(user, "member.update", "member:" + id, MemberView.From(member), MemberView.From(updated));
        return TypedResults.Ok(MemberView.From(updated));
    }

    private static IResult DeleteMember(string id, MemberRegistry registry, TokenRegistry tokens, AuditLog audit, ClaimsPrincipal user)
    {
        if (registry.Find(id) is not { } member)
        {
            return Problems.NotFound("Member", id);
        }

        if (NotHeld(user, member.Roles) is { } beyond)
        {
            return beyond;
        }

        int revoked;
        lock (MemberChanges)
        {
            if (LeavesNoAdmin(registry, member, null))
            {
                return LastAdmin(member.Id == user.MemberId() ? "yourself" : member.Email);
            }

            revoked = tokens.RevokeAllOf(id);
            registry.Remove(id);
        }

        audit.Record(user, "member.remove", "member:" + id, before: MemberView.From(member), detail: $"{revoked} API token(s) revoked with the member");
        return TypedResults.NoContent();
    }

    private static async Task<IResult> ResetPasswordAsync(string id, HttpRequest request, MemberRegistry registry, AuditLog audit, ClaimsPrincipal user)
    {
        var password = (string?)null;
        // A chunked body has no length, yet says a password: setting a generated one instead would be silent.
        if (request.ContentLength > 0 || request.ContentLength is null && request.Headers.TransferEncoding.Count > 0)
        {
            var (body, problem) = await JsonBody.ReadAsync<PasswordRequest>(request);
            if (problem is not null)
            {
                return problem;
            }

            password = body!.Password;
            if (password is not null && ValidatePassword(password, "password") is { } invalid)
            {
                return invalid;
            }
        }

        if (registry.Find(id) is not { } member)
        {
            return Problems.NotFound("Member", id);
        }

        // Setting someone's password is signing in as them: only for callers who hold all they hold.
        if (NotHeld(user, member.Roles) is { } beyond)
        {
            return beyond;
        }

        var generated = password is null ? NewPassword() : null;
        registry.SetPassword(id, password ?? generated!);
        audit.Record(user, "member.password_reset", "member:" + id, detail: generated is null ? "set by the caller" : "generated");
        return TypedResults.Ok(new { id, initialPassword = generated });
    }

    /// <summary>Member changes that check the last admin first, one at a time.</summary>
    private static readonly Lock MemberChanges = new();

    /// <summary>A token is the caller's own when it belongs to the caller's member, or, without an owner, when it is the caller.</summary>
    private static bool IsOwn(ApiToken token, ClaimsPrincipal user) =>
        token.OwnerId is not null ? token.OwnerId == user.MemberId() : user.Actor() == "token:" + token.Id;

    /// <summary>
    /// Granting roles, or changing a member who holds them, needs every scope those roles bring:
    /// otherwise members:write alone would let a token make an admin, or take one over.
    /// </summary>
    private static IResult? NotHeld(ClaimsPrincipal user, IEnumerable<string> roles)
    {
        var missing = Roles.ScopesFor(roles).Where(scope => !user.Holds(scope)).Order(StringComparer.Ordinal).ToArray();
        return missing.Length == 0 ? null
            : Problems.Create(StatusCodes.Status403Forbidden, "role_not_held", "The caller holds less than these roles bring",
                $"Granting a role, or changing a member who has it, needs every scope the role brings. You lack {string.Join(", ", missing.Select(m => $"'{m}'"))}.",
                "roles", new Dictionary<string, object?> { ["scopes"] = missing });
    }

    private static bool LeavesNoAdmin(MemberRegistry registry, Member before, Member? after)
    {
        return before.IsActiveAdmin && after?.IsActiveAdmin != true
            && !registry.All.Any(m => m.Id != before.Id && m.IsActiveAdmin);
    }

    private static IResult LastAdmin(string who) =>
        Problems.Create(StatusCodes.Status409Conflict, "last_admin", "This would leave no admin",
            $"This change would leave the workspace without an active admin member ({who} is the last one). Give another member the admin role first.", "roles");

    private static IResult OthersTokens() =>
        Problems.Create(StatusCodes.Status403Forbidden, "missing_scope", "Other members' tokens need members:write",
            "Only callers with the 'members:write' scope see, create or revoke tokens of other members.", "Authorization",
            new Dictionary<string, object?> { ["scope"] = Scopes.MembersWrite });

    private static IResult? ValidateEmail(string? email)
    {
        if (string.IsNullOrWhiteSpace(email) || email.Length > 254 || !MailAddress.TryCreate(email.Trim(), out var parsed) || parsed.Address != email.Trim())
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "invalid_email", "A valid email is required",
                $"\"email\" must be an address such as ada@example.com{(email is null ? "" : $"; '{email}' is not one")}.", "email");
        }

        return null;
    }

    private static IResult? ValidateName(string? name, bool required)
    {
        if (name is null ? required : string.IsNullOrWhiteSpace(name) || name.Trim().Length > MaxNameLength)
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "invalid_name", "A name is required",
                $"\"name\" must be 1 to {MaxNameLength} characters.", "name");
        }

        return null;
    }

    private static IResult? ValidateRoles(string[]? roles, bool required)
    {
        if (roles is not { Length: > 0 })
        {
            return required
                ? Problems.Create(StatusCodes.Status400BadRequest, "roles_required", "At least one role is required",
                    $"Send \"roles\": a list of {string.Join(", ", Roles.ScopesOf.Keys.Order(StringComparer.Ordinal))}.", "roles")
                : null;
        }

        for (var i = 0; i < roles.Length; i++)
        {
            if (roles[i] is not { } role || !Roles.IsKnown(role))
            {
                return Problems.Create(StatusCodes.Status400BadRequest, "unknown_role", "Unknown role",
                    $"'{roles[i]}' is not a role. Roles: {string.Join(", ", Roles.ScopesOf.Keys.Order(StringComparer.Ordinal))}.", $"roles[{i}]");
            }
        }

        return null;
    }

    private static IResult? ValidatePassword(string? password, string field) =>
        (password is null ? $"A password needs {PasswordRules.MinLength} to {PasswordRules.MaxLength} characters." : PasswordRules.Weakness(password)) is { } why
            ? Problems.Create(StatusCodes.Status400BadRequest, "weak_password", "The password is too weak",
                $"{why} A passphrase of a few unrelated words is easy to remember and hard to guess{(field == "password" ? "; or leave the password out to get a generated one" : "")}.", field)
            : null;

    private static string NewPassword() => RandomNumberGenerator.GetString("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 20);

    private static string[] Distinct(string[] values) => [.. values.Distinct(StringComparer.Ordinal)];
}
