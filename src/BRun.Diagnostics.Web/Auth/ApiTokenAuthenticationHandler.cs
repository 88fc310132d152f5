using System.Text.Encodings.Web;
using BRun.Diagnostics.Infrastructure.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace BRun.Diagnostics.Web.Auth;

/// <summary>Authenticates <c>Authorization: Bearer brun_...</c> with a personal API token (see <c>brun token create</c>).</summary>
internal sealed class ApiTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiTokenStore tokens) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiToken";

    public static bool HasBearer(HttpRequest request) => TryGetBearer(request, out _);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!TryGetBearer(Request, out var token))
        {
            return AuthenticateResult.NoResult();
        }

        var user = await tokens.AuthenticateAsync(token, Context.RequestAborted).ConfigureAwait(false);
        if (user is null)
        {
            return AuthenticateResult.Fail("Invalid or revoked API token.");
        }

        return AuthenticateResult.Success(new AuthenticationTicket(UserClaims.CreatePrincipal(user, SchemeName), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        ApiChallenge.UnauthorizedAsync(Context, "invalid_token", "The API token is invalid or revoked.");

    // A valid token whose user may not use the endpoint (a member on an admin endpoint): problem+json, as every 4xx.
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiChallenge.ForbiddenAsync(Context, "You may not use this endpoint.");

    private static bool TryGetBearer(HttpRequest request, out string token)
    {
        var header = request.Headers[HeaderNames.Authorization].ToString();
        const string Prefix = "Bearer ";
        if (header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) && header.Length > Prefix.Length)
        {
            token = header[Prefix.Length..].Trim();
            return true;
        }

        token = string.Empty;
        return false;
    }
}
