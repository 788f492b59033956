using Tandem.Storage;

namespace Tandem.Hosting;

/// <summary>
/// Guards APIs with a Bearer API token and a scope. The admin token created on first start holds
/// every scope (<c>*</c>); other tokens hold a space-separated list such as <c>profiles:read</c>.
/// Until members and scoped tokens arrive (issue 4), the management API asks for the admin token.
/// </summary>
internal static class AdminAuthorization
{
    public const string AllScopes = "*";
    public const string ProfilesRead = "profiles:read";

    public static RouteGroupBuilder RequireAdminToken(this RouteGroupBuilder group) => group.RequireScope(AllScopes);

    public static RouteGroupBuilder RequireScope(this RouteGroupBuilder group, string scope)
    {
        group.AddEndpointFilter(async (context, next) =>
        {
            var header = context.HttpContext.Request.Headers.Authorization.ToString();
            if (header.Length == 0)
            {
                return Problems.Unauthorized("This API needs an API token: send \"Authorization: Bearer <token>\". The admin token is printed on first start.");
            }

            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= 7)
            {
                return Problems.Unauthorized("The Authorization header must be \"Bearer <token>\" with an API token.");
            }

            var store = context.HttpContext.RequestServices.GetRequiredService<ControlStore>();
            var scopes = store.FindTokenScopes(header[7..].Trim());
            if (scopes is null)
            {
                return Problems.Unauthorized("The API token is not valid. Check for a copy-paste error, or ask an admin for a token.");
            }

            if (!Grants(scopes, scope))
            {
                return Problems.Create(StatusCodes.Status403Forbidden, "missing_scope", "The token lacks a scope this call needs",
                    scope == AllScopes
                        ? "This call needs the admin token until scoped management tokens arrive."
                        : $"This call needs a token with the '{scope}' scope. Ask an admin for one.", "Authorization");
            }

            return await next(context);
        });
        return group;
    }

    private static bool Grants(string scopes, string scope)
    {
        if (scopes == AllScopes)
        {
            return true;
        }

        foreach (var held in scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (held == scope)
            {
                return true;
            }
        }

        return false;
    }
}
