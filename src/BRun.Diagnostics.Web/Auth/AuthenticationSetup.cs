using BRun.Diagnostics.Infrastructure.Auth;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace BRun.Diagnostics.Web.Auth;

/// <summary>
/// Sign-in for the dashboard and its HTTP endpoints: a cookie for people (local password or OpenID Connect), a
/// bearer API token for scripts, and a policy scheme that picks one per request. Everything requires a signed-in
/// user unless it says <c>[AllowAnonymous]</c> (the fallback policy).
/// </summary>
public static class AuthenticationSetup
{
    /// <summary>The default scheme: forwards to the bearer handler when an Authorization header is present, else the cookie.</summary>
    public const string PolicyScheme = "brun";

    public const string OidcScheme = OpenIdConnectDefaults.AuthenticationScheme;

    public const string LoginPath = "/account/login";

    /// <summary>Where a signed-in user is sent when a page needs a role they lack.</summary>
    public const string AccessDeniedPath = "/account/denied";

    public static IHostApplicationBuilder AddDiagnosticsAuthentication(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<OidcOptions>()
            .Bind(builder.Configuration.GetSection(OidcOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => !o.Enabled || !string.IsNullOrWhiteSpace(o.ClientId), "Authentication:Oidc:ClientId is required when Authority is set.")
            .ValidateOnStart();
        var oidc = builder.Configuration.GetSection(OidcOptions.SectionName).Get<OidcOptions>() ?? new OidcOptions();

        var authentication = builder.Services
            .AddAuthentication(o =>
            {
                o.DefaultScheme = PolicyScheme;
                o.DefaultChallengeScheme = PolicyScheme;
            })
            .AddPolicyScheme(PolicyScheme, "Cookie or API token", o =>
                o.ForwardDefaultSelector = context => ApiTokenAuthenticationHandler.HasBearer(context.Request)
                    ? ApiTokenAuthenticationHandler.SchemeName
                    : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(CookieAuthenticationDefaults.AuthenticationScheme, o =>
            {
                o.LoginPath = LoginPath;
                o.LogoutPath = "/account/logout";
                o.AccessDeniedPath = AccessDeniedPath;
                o.Cookie.Name = "brun.auth";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                // Scripts and fetches get a status code, not an HTML login page.
                o.Events.OnRedirectToLogin = context => RedirectOrStatus(context, StatusCodes.Status401Unauthorized);
                o.Events.OnRedirectToAccessDenied = context => RedirectOrStatus(context, StatusCodes.Status403Forbidden);
                o.Events.OnValidatePrincipal = ValidateCookieAsync;
            })
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiTokenAuthenticationHandler>(ApiTokenAuthenticationHandler.SchemeName, null);

        if (oidc.Enabled)
        {
            authentication.AddOpenIdConnect(OidcScheme, oidc.DisplayName, o =>
            {
                o.Authority = oidc.Authority;
                o.ClientId = oidc.ClientId;
                o.ClientSecret = oidc.ClientSecret;
                o.ResponseType = OpenIdConnectResponseType.Code;
                o.SignInScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                o.MapInboundClaims = false;
                o.Scope.Clear();
                o.Scope.Add("openid");
                o.Scope.Add("profile");
                o.Scope.Add("email");
                o.Events.OnTokenValidated = context => MapExternalUserAsync(context, oidc.EmailClaim);
            });
        }

        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        builder.Services.AddCascadingAuthenticationState();
        // Open dashboard circuits are checked again every minute, so a disabled user's open tab stops working too.
        builder.Services.AddScoped<AuthenticationStateProvider, UserRevalidatingAuthenticationStateProvider>();
        builder.Services.AddScoped<CurrentUser>();
        builder.Services.AddSingleton<SessionRenewal>();
        builder.Services.AddScoped<ICurrentUser>(sp => sp.GetRequiredService<CurrentUser>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Scoped<CircuitHandler, CurrentUserCircuitHandler>());
        return builder;
    }

    /// <summary>Replaces the provider's principal with our own claims for the app_users row of its email.</summary>
    private static async Task MapExternalUserAsync(Microsoft.AspNetCore.Authentication.OpenIdConnect.TokenValidatedContext context, string emailClaim)
    {
        var email = context.Principal?.FindFirst(emailClaim)?.Value;
        if (string.IsNullOrWhiteSpace(email) || !email.Contains('@', StringComparison.Ordinal))
        {
            context.Fail($"The identity provider sent no '{emailClaim}' claim.");
            return;
        }

        var verified = string.Equals(context.Principal!.FindFirst("email_verified")?.Value, "true", StringComparison.OrdinalIgnoreCase);
        var name = context.Principal.FindFirst("name")?.Value ?? email;
        var accounts = context.HttpContext.RequestServices.GetRequiredService<LocalAccountService>();
        var user = await accounts.FindOrCreateExternalAsync(email, name, verified, context.HttpContext.RequestAborted).ConfigureAwait(false);
        if (user is null)
        {
            context.Fail("The identity provider does not assert email_verified=true for this email (so it cannot sign in as the account that owns it), or the account is disabled.");
            return;
        }

        context.Principal = UserClaims.CreatePrincipal(user, CookieAuthenticationDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// Checks a cookie against <c>app_users</c> on every request: the cookie of a disabled or deleted user, or one issued
    /// before the user's password changed (another session stamp), stops working at once, and a changed role or name is
    /// taken into the cookie. One primary-key lookup per request.
    /// </summary>
    private static async Task ValidateCookieAsync(CookieValidatePrincipalContext context)
    {
        var user = UserClaims.GetUserId(context.Principal) is { } userId
            ? await context.HttpContext.RequestServices.GetRequiredService<AppUserStore>().GetActiveAsync(userId, context.HttpContext.RequestAborted).ConfigureAwait(false)
            : null;
        if (user is null || !UserClaims.HasCurrentSessionStamp(context.Principal!, user))
        {
            context.RejectPrincipal();
            // The renewal endpoint reads this stale cookie and replaces it; deleting it here would race that new cookie.
            if (!context.HttpContext.Request.Path.Equals(SessionRenewal.Path, StringComparison.OrdinalIgnoreCase))
            {
                await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme).ConfigureAwait(false);
            }

            return;
        }

        if (!UserClaims.Matches(context.Principal!, user))
        {
            context.ReplacePrincipal(UserClaims.CreatePrincipal(user, CookieAuthenticationDefaults.AuthenticationScheme));
            context.ShouldRenew = true;
        }
    }

    private static Task RedirectOrStatus(Microsoft.AspNetCore.Authentication.RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        if (!context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase))
        {
            context.Response.Redirect(context.RedirectUri);
            return Task.CompletedTask;
        }

        return status == StatusCodes.Status401Unauthorized
            ? ApiChallenge.UnauthorizedAsync(context.HttpContext, error: null, "Sign in, or send an API token as 'Authorization: Bearer TOKEN' (create one with: brun token create --email EMAIL).")
            : ApiChallenge.ForbiddenAsync(context.HttpContext, "You may not use this endpoint.");
    }
}
