using BRun.Diagnostics.Infrastructure.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Web.Auth;

/// <summary>Sign-in and sign-out form posts. The sign-in page itself is a static Razor component (LoginPage).</summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var account = endpoints.MapGroup("/account").ExcludeFromDescription();

        // Antiforgery is validated (the form carries the token), which also stops login CSRF.
        account.MapPost("/login", SignInAsync).AllowAnonymous();
        account.MapPost("/logout", SignOutAsync);
        account.MapGet("/login/oidc", (string? returnUrl, IOptions<OidcOptions> oidc) =>
                oidc.Value.Enabled
                    ? Results.Challenge(new AuthenticationProperties { RedirectUri = SafeReturnUrl(returnUrl) }, [AuthenticationSetup.OidcScheme])
                    : Results.NotFound())
            .AllowAnonymous();
        return endpoints;
    }

    /// <summary>A local path to go back to, never another site (open redirect).</summary>
    public static string SafeReturnUrl(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.StartsWith('/') && !returnUrl.StartsWith("//", StringComparison.Ordinal)
            && !returnUrl.StartsWith("/\\", StringComparison.Ordinal)
            ? returnUrl
            : "/";

    private static async Task<IResult> SignInAsync(
        [FromForm] LoginForm form,
        HttpContext context,
        LocalAccountService accounts)
    {
        var user = await accounts.VerifyPasswordAsync(form.Email ?? string.Empty, form.Password ?? string.Empty, context.RequestAborted).ConfigureAwait(false);
        var returnUrl = SafeReturnUrl(form.ReturnUrl);
        if (user is null)
        {
            return Results.Redirect($"{AuthenticationSetup.LoginPath}?error=1&returnUrl={Uri.EscapeDataString(returnUrl)}");
        }

        await context.SignInAsync(
            CookieAuthenticationDefaults.AuthenticationScheme,
            UserClaims.CreatePrincipal(user, CookieAuthenticationDefaults.AuthenticationScheme),
            new AuthenticationProperties { IsPersistent = form.RememberMe }).ConfigureAwait(false);
        return Results.LocalRedirect(returnUrl);
    }

    private static async Task SignOutAsync(HttpContext context)
    {
        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme).ConfigureAwait(false);
        context.Response.Redirect(AuthenticationSetup.LoginPath);
    }

    /// <summary>The sign-in form's fields.</summary>
    public sealed class LoginForm
    {
        public string? Email { get; set; }
        public string? Password { get; set; }
        public string? ReturnUrl { get; set; }
        public bool RememberMe { get; set; }
    }
}
