using System.Security.Claims;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>Members, API tokens, console sign-in, and the scope and role catalog.</summary>
internal static partial class TrustApi
{
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
        members.MapGet("/", (MembersService registry) => TypedResults.Ok(registry.List().Select(MemberView.From).ToArray()))
            .RequireScope(Scopes.MembersRead).WithSummary("Lists members and their roles");
        members.MapGet("/{id}", (string id, MembersService registry) => registry.Find(id) is { } m ? (IResult)TypedResults.Ok(MemberView.From(m)) : Problems.NotFound("Member", id))
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

    private static async Task<IResult> CreateMemberAsync(HttpRequest request, MembersService members, ClaimsPrincipal user)
    {
        var (body, problem) = await JsonBody.ReadAsync<CreateMemberRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        var created = members.Create(user.ToCaller(), new NewMember(body!.Email, body.Name, body.Roles, body.Password));
        return created.Value is { } done
            ? TypedResults.Created($"/api/v1/members/{done.Member.Id}", new CreatedMemberView(MemberView.From(done.Member), done.GeneratedPassword))
            : Problems.From(created.Refusal!);
    }

    private static async Task<IResult> UpdateMemberAsync(string id, HttpRequest request, MembersService members, ClaimsPrincipal user)
    {
        var (body, problem) = await JsonBody.ReadAsync<UpdateMemberRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        var updated = members.Update(user.ToCaller(), id, new MemberPatch(body!.Name, body.Roles, body.Disabled));
        return updated.Value is { } member ? TypedResults.Ok(MemberView.From(member)) : Problems.From(updated.Refusal!);
    }

    private static IResult DeleteMember(string id, MembersService members, ClaimsPrincipal user) =>
        members.Remove(user.ToCaller(), id).Refusal is { } refusal ? Problems.From(refusal) : TypedResults.NoContent();

    private static async Task<IResult> ResetPasswordAsync(string id, HttpRequest request, MembersService members, ClaimsPrincipal user)
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
        }

        var reset = members.ResetPassword(user.ToCaller(), id, password);
        return reset.Value is { } done ? TypedResults.Ok(new { id, initialPassword = done.GeneratedPassword }) : Problems.From(reset.Refusal!);
    }
}
