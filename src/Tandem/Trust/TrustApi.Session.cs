using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>Console sign-in, the caller's session, sign-out and one's own password.</summary>
internal static partial class TrustApi
{
    private static async Task<IResult> SignInAsync(HttpContext context, MemberRegistry members, AuditLog audit, TrustMetrics metrics, TimeProvider time)
    {
        // Only a body declared as JSON: a cross-site form can post one without a Content-Type header
        // (or as text/plain) without a preflight, and SameSite cookies are not the only line to hold.
        if (!IsJson(context.Request.ContentType))
        {
            return Problems.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "The body must be JSON",
                $"Sign-in needs \"Content-Type: application/json\"{(string.IsNullOrEmpty(context.Request.ContentType) ? " and none was sent" : $"; '{context.Request.ContentType}' was sent")}. Send {{\"email\": \"…\", \"password\": \"…\"}} as JSON.",
                "Content-Type");
        }

        var (body, problem) = await JsonBody.ReadAsync<SignInRequest>(context.Request);
        if (problem is not null)
        {
            return problem;
        }

        // Bounded before anything is hashed or recorded: the audit log keeps a keyed hash of each attempt's email.
        if (string.IsNullOrWhiteSpace(body!.Email) || body.Email.Length > 254 || string.IsNullOrEmpty(body.Password) || body.Password.Length > MaxPasswordLength)
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "credentials_required", "Email and password are required",
                "Send {\"email\": \"…\", \"password\": \"…\"}.", string.IsNullOrWhiteSpace(body.Email) ? "email" : "password");
        }

        var ip = context.Connection.RemoteIpAddress?.ToString();
        var result = members.SignIn(body.Email.Trim(), body.Password, ip);
        if (result.Outcome != SignInOutcome.SignedIn)
        {
            // Wrong passwords are written one by one (the locks bound them); refusals while a lock holds
            // cost no hashing and are sampled per address, so the first, the lock's start, is written.
            audit.SignInRefused(result.Outcome, body.Email, ip);
        }

        switch (result.Outcome)
        {
            case SignInOutcome.InvalidCredentials or SignInOutcome.Disabled:
                return Problems.Create(StatusCodes.Status401Unauthorized, "invalid_credentials", "Wrong email or password",
                    $"The email and password do not match an active member. After {MemberRegistry.MaxFailedSignIns} wrong passwords in a row from one address the account is locked to it for {MemberRegistry.LockoutDuration.TotalMinutes:N0} minutes.", "password");
            case SignInOutcome.LockedOut or SignInOutcome.AddressThrottled:
                var reason = result.Outcome == SignInOutcome.LockedOut ? "account_locked" : "too_many_sign_in_attempts";
                metrics.Throttled(reason);

                context.Response.Headers.RetryAfter =
                    ((int)Math.Ceiling((result.LockedUntil!.Value - time.GetUtcNow()).TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                return result.Outcome == SignInOutcome.LockedOut
                    ? Problems.Create(StatusCodes.Status429TooManyRequests, reason, "The account is locked",
                        $"Too many wrong passwords for this account ({MemberRegistry.MaxFailedSignIns} in a row from one address, or {MemberRegistry.MaxFailedSignInsPerAccount} from any). Try again after {result.LockedUntil:u}, or ask an admin to reset the password.", "password")
                    : Problems.Create(StatusCodes.Status429TooManyRequests, reason, "Too many failed sign-ins from this address",
                        $"{MemberRegistry.MaxFailedSignInsPerAddress} sign-ins from your address failed within {MemberRegistry.LockoutDuration.TotalMinutes:N0} minutes, so it may not sign in to any account until {result.LockedUntil:u}.", "email");
        }

        var member = result.Member!;
        var csrf = await TrustAuthentication.StartSessionAsync(context, member);
        audit.Append("member:" + member.Id, "session.sign_in", "member:" + member.Id, detail: $"from {ip}");
        return TypedResults.Ok(new SessionView("member:" + member.Id, MemberView.From(member), member.Roles, [.. member.Scopes.Order(StringComparer.Ordinal)], csrf));
    }

    /// <summary>application/json, or a +json type, with any parameters; a form type or none at all is not JSON.</summary>
    private static bool IsJson(string? contentType) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && (parsed.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || parsed.MediaType.Value?.EndsWith("+json", StringComparison.OrdinalIgnoreCase) == true);

    private static IResult Session(ClaimsPrincipal user, MemberRegistry members) =>
        TypedResults.Ok(new SessionView(user.Actor(), user.MemberId() is { } id && members.Find(id) is { } m ? MemberView.From(m) : null,
            user.Roles(), [.. user.Scopes().Order(StringComparer.Ordinal)], user.FindFirstValue(TrustAuthentication.CsrfClaim)));

    private static async Task<IResult> SignOutAsync(HttpContext context, ClaimsPrincipal user, AuditLog audit, MemberRegistry members)
    {
        // Ends every session of the member, not just this browser's: a copied cookie must not outlive a sign-out.
        if (!user.IsToken() && user.MemberId() is { } id)
        {
            members.EndSessions(id);
        }

        await context.SignOutAsync(TrustAuthentication.SessionScheme);
        audit.Record(user, "session.sign_out", user.Actor());
        return TypedResults.NoContent();
    }

    private static async Task<IResult> ChangePasswordAsync(HttpRequest request, ClaimsPrincipal user, MemberRegistry members, AuditLog audit)
    {
        if (user.MemberId() is not { } id || members.Find(id) is not { } member)
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "not_a_member", "Only members have passwords",
                "This caller is an API token without an owner. Sign in as a member to change a password.", "Authorization");
        }

        var (body, problem) = await JsonBody.ReadAsync<ChangePasswordRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        if (ValidatePassword(body!.NewPassword, "newPassword") is { } invalid)
        {
            return invalid;
        }

        var check = members.SignIn(member.Email, body.CurrentPassword ?? "", request.HttpContext.Connection.RemoteIpAddress?.ToString());
        if (check.Outcome != SignInOutcome.SignedIn)
        {
            return Problems.Create(StatusCodes.Status400BadRequest, "wrong_current_password", "The current password is wrong",
                "Send the current password as \"currentPassword\". Wrong attempts count towards the lockout.", "currentPassword");
        }

        members.SetPassword(id, body.NewPassword!);
        audit.Record(user, "member.password_change", "member:" + id);
        return TypedResults.NoContent();
    }
}
