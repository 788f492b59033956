using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Tandem.Hosting;

namespace Tandem.Trust;

/// <summary>Console sign-in, the caller's session, sign-out and one's own password.</summary>
internal static partial class TrustApi
{
    private static async Task<IResult> SignInAsync(HttpContext context, SessionsService sessions, TimeProvider time)
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

        var ip = context.Connection.RemoteIpAddress?.ToString();
        var signedIn = sessions.SignIn(body!.Email, body.Password, ip);
        if (signedIn.Value is not { } member)
        {
            if (signedIn.Refusal!.RetryAfter is { } until)
            {
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling((until - time.GetUtcNow()).TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return Problems.From(signedIn.Refusal);
        }

        var csrf = await TrustAuthentication.StartSessionAsync(context, member);
        return TypedResults.Ok(new SessionView("member:" + member.Id, MemberView.From(member), member.Roles, [.. member.Scopes.Order(StringComparer.Ordinal)], csrf));
    }

    /// <summary>application/json, or a +json type, with any parameters; a form type or none at all is not JSON.</summary>
    private static bool IsJson(string? contentType) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && (parsed.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || parsed.MediaType.Value?.EndsWith("+json", StringComparison.OrdinalIgnoreCase) == true);

    private static IResult Session(ClaimsPrincipal user, SessionsService sessions) =>
        TypedResults.Ok(new SessionView(user.Actor(), sessions.MemberOf(user.ToCaller()) is { } m ? MemberView.From(m) : null,
            user.Roles(), [.. user.Scopes().Order(StringComparer.Ordinal)], user.FindFirstValue(TrustAuthentication.CsrfClaim)));

    private static async Task<IResult> SignOutAsync(HttpContext context, ClaimsPrincipal user, SessionsService sessions)
    {
        sessions.SignOut(user.ToCaller());
        await context.SignOutAsync(TrustAuthentication.SessionScheme);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> ChangePasswordAsync(HttpRequest request, ClaimsPrincipal user, SessionsService sessions)
    {
        var caller = user.ToCaller();
        // Before the body is read: a token without an owner is told so whatever it sent.
        if (sessions.PasswordHolder(caller).Refusal is { } notMember)
        {
            return Problems.From(notMember);
        }

        var (body, problem) = await JsonBody.ReadAsync<ChangePasswordRequest>(request);
        if (problem is not null)
        {
            return problem;
        }

        var changed = sessions.ChangePassword(caller, body!.CurrentPassword, body.NewPassword, request.HttpContext.Connection.RemoteIpAddress?.ToString());
        return changed.Refusal is { } refusal ? Problems.From(refusal) : TypedResults.NoContent();
    }
}
