using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Antiforgery;
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

        // Antiforgery is validated in SignInAsync (the form carries the token), which also stops login CSRF: done there,
        // a stale form (open too long, or from before a restart) leads back to the form with a message instead of a 400.
        account.MapPost("/login", SignInAsync).AllowAnonymous().DisableAntiforgery();
        account.MapPost("/logout", SignOutAsync);
        // Anonymous: the browser's cookie is already stale when it gets here (see SessionRenewal).
        endpoints.MapGet(SessionRenewal.Path, (HttpContext context, SessionRenewal renewal, AppUserStore users, IOptionsMonitor<CookieAuthenticationOptions> cookies) =>
                renewal.RenewAsync(context, users, cookies))
            .AllowAnonymous()
            .ExcludeFromDescription();
        account.MapGet("/login/oidc", (string? returnUrl, IOptions<OidcOptions> oidc) =>
                oidc.Value.Enabled
                    ? Results.Challenge(new AuthenticationProperties { RedirectUri = SafeReturnUrl(returnUrl) }, [AuthenticationSetup.OidcScheme])
                    : Results.NotFound())
            .AllowAnonymous();
        return endpoints;
    }

    /// <summary>
    /// After a failed sign-in the form is shown again with the email the person typed (only the password is
    /// cleared). The email travels in a short-lived HttpOnly cookie scoped to the sign-in page, not in the redirect's
    /// URL, so it stays out of access logs and browser history.
    /// </summary>
    public const string LoginEmailCookie = "brun_login_email";

    private const int MaxRememberedEmailLength = 320;

    private static void RememberEmail(HttpContext context, string email)
    {
        if (email.Length is 0 or > MaxRememberedEmailLength)
        {
            return;
        }

        context.Response.Cookies.Append(LoginEmailCookie, email, new CookieOptions
        {
            HttpOnly = true,
            Secure = context.Request.IsHttps,
            SameSite = SameSiteMode.Strict,
            Path = AuthenticationSetup.LoginPath,
            MaxAge = TimeSpan.FromMinutes(10),
            IsEssential = true,
        });
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
        LocalAccountService accounts,
        LoginThrottle throttle,
        IAntiforgery antiforgery)
    {
        var email = form.Email ?? string.Empty;
        var address = context.Connection.RemoteIpAddress?.ToString();
        var returnUrl = SafeReturnUrl(form.ReturnUrl);
        var ct = context.RequestAborted;

        if (!await antiforgery.IsRequestValidAsync(context).ConfigureAwait(false))
        {
            RememberEmail(context, email);
            return Results.Redirect($"{AuthenticationSetup.LoginPath}?error=expired&returnUrl={Uri.EscapeDataString(returnUrl)}");
        }

        // A locked account or address is refused before the password is looked at: guessing stops during the lockout.
        if (await throttle.LockedUntilAsync(email, address, ct).ConfigureAwait(false) is not null)
        {
            RememberEmail(context, email);
            return Results.Redirect($"{AuthenticationSetup.LoginPath}?error=locked&returnUrl={Uri.EscapeDataString(returnUrl)}");
        }

        var user = await accounts.VerifyPasswordAsync(email, form.Password ?? string.Empty, ct).ConfigureAwait(false);
        if (user is null)
        {
            var locked = await throttle.RecordFailureAsync(email, address, ct).ConfigureAwait(false);
            RememberEmail(context, email);
            return Results.Redirect($"{AuthenticationSetup.LoginPath}?error={(locked is null ? "1" : "locked")}&returnUrl={Uri.EscapeDataString(returnUrl)}");
        }

        await throttle.RecordSuccessAsync(email, ct).ConfigureAwait(false);
        context.Response.Cookies.Delete(LoginEmailCookie, new CookieOptions { Path = AuthenticationSetup.LoginPath });

        await context.SignInAsync(
            CookieAuthenticationDefaults.AuthenticationScheme,
            UserClaims.CreatePrincipal(user, CookieAuthenticationDefaults.AuthenticationScheme),
            new AuthenticationProperties { IsPersistent = form.RememberMe }).ConfigureAwait(false);
        return Results.LocalRedirect(returnUrl);
    }

    private static async Task<IResult> SignOutAsync(HttpContext context, IAntiforgery antiforgery)
    {
        // No form field binds here, so the framework would not check the token: without this, any site could sign people out.
        if (!await antiforgery.IsRequestValidAsync(context).ConfigureAwait(false))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The sign-out form's antiforgery token is missing or invalid.");
        }

        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme).ConfigureAwait(false);
        return Results.Redirect(AuthenticationSetup.LoginPath);
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
