using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Tandem.Tests.Support;

/// <summary>Who the provider signs in at its authorization endpoint (there is no login page: the test decides).</summary>
public sealed record ProviderUser(string? Email, bool? EmailVerified = true, string Subject = "user-1");

/// <summary>
/// A real OpenID provider for one test: the OpenIddict server on a loopback Kestrel port, with its
/// discovery document, JWKS, authorization and token endpoints, authorization code flow with PKCE,
/// and ID tokens signed with an RSA key made for it. Degraded mode (no database): the handlers below check
/// the one registered client and sign in <see cref="User"/>.
/// </summary>
public sealed class OpenIdProvider : IAsyncDisposable
{
    public const string ClientId = "tandem-console";
    public const string ClientSecret = "provider-secret-0123456789-abcd";

    private readonly WebApplication _app;

    private OpenIdProvider(WebApplication app) => _app = app;

    /// <summary>The issuer, as Tandem is configured with it: http://127.0.0.1:port/.</summary>
    public string Authority { get; private set; } = "";

    public ProviderUser User { get; set; } = new("ada@example.com");

    /// <summary>The redirect URI the client registered; authorization requests naming another are refused.</summary>
    public string? RegisteredRedirectUri { get; set; }

    public static async Task<OpenIdProvider> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        OpenIdProvider? provider = null;
        builder.Services.AddAuthentication();
        builder.Services.AddOpenIddict().AddServer(server =>
        {
            server.SetAuthorizationEndpointUris("connect/authorize").SetTokenEndpointUris("connect/token");
            server.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange();
            server.RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.Email);
            // Fresh keys for each provider. The ephemeral ones OpenIddict makes itself took ~6 s per provider here;
            // an RSA-2048 key signs the ID tokens, and codes are sealed with a symmetric key (AES key wrap).
            server.AddSigningKey(new RsaSecurityKey(RSA.Create(2048)))
                .AddEncryptionKey(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)))
                .DisableAccessTokenEncryption();
            server.EnableDegradedMode();
            server.UseAspNetCore().DisableTransportSecurityRequirement();

            server.AddEventHandler<OpenIddictServerEvents.ValidateAuthorizationRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.ClientId != ClientId)
                {
                    context.Reject(Errors.InvalidClient, "Unknown client.");
                }
                else if (provider!.RegisteredRedirectUri is { } registered && context.RedirectUri != registered)
                {
                    context.Reject(Errors.InvalidRequest, "The redirect_uri is not registered.");
                }

                return default;
            }));
            server.AddEventHandler<OpenIddictServerEvents.ValidateTokenRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.ClientId != ClientId || context.Request.ClientSecret != ClientSecret)
                {
                    context.Reject(Errors.InvalidClient, "Wrong client credentials.");
                }

                return default;
            }));
            server.AddEventHandler<OpenIddictServerEvents.HandleAuthorizationRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                var user = provider!.User;
                var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
                identity.SetClaim(Claims.Subject, user.Subject);
                if (user.Email is not null)
                {
                    identity.SetClaim(Claims.Email, user.Email);
                }

                if (user.EmailVerified is { } verified)
                {
                    identity.SetClaim(Claims.EmailVerified, verified);
                }

                identity.SetScopes(context.Request.GetScopes());
                identity.SetDestinations(_ => [Destinations.IdentityToken, Destinations.AccessToken]);
                context.SignIn(new ClaimsPrincipal(identity));
                return default;
            }));
        });

        var app = builder.Build();
        provider = new OpenIdProvider(app);
        app.UseAuthentication();
        await app.StartAsync();
        provider.Authority = app.Urls.First().TrimEnd('/') + "/";
        return provider;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
