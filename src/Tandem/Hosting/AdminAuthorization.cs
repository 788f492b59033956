using Tandem.Storage;

namespace Tandem.Hosting;

/// <summary>
/// Guards the management API with a Bearer API token. Until members and scoped tokens arrive, the
/// admin token created on first start is the one that opens it.
/// </summary>
internal static class AdminAuthorization
{
    public const string AllScopes = "*";

    public static RouteGroupBuilder RequireAdminToken(this RouteGroupBuilder group)
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
            if (scopes != AllScopes)
            {
                return Problems.Unauthorized("The API token is not valid. Check for a copy-paste error, or ask an admin for a token.");
            }

            return await next(context);
        });
        return group;
    }
}
