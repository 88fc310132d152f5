using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Web.Auth;

/// <summary>
/// Optional OpenID Connect sign-in (configuration section <c>Authentication:Oidc</c>). Enabled only when
/// <see cref="Authority"/> is set. The email claim is mapped to an <c>app_users</c> row; an unknown email becomes a
/// new member on first sign-in.
/// </summary>
public sealed class OidcOptions
{
    public const string SectionName = "Authentication:Oidc";

    /// <summary>The issuer URL, e.g. <c>https://login.example.com/realms/brun</c>. Default: none (OIDC off).</summary>
    public string? Authority { get; set; }

    /// <summary>Client id registered with the provider. Default: none; required when <see cref="Authority"/> is set.</summary>
    public string? ClientId { get; set; }

    /// <summary>Client secret (code flow). Default: none.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Claim holding the user's email. Default: <c>email</c>.</summary>
    [Required]
    public string EmailClaim { get; set; } = "email";

    /// <summary>Label of the sign-in button. Default: <c>Single sign-on</c>.</summary>
    [Required]
    public string DisplayName { get; set; } = "Single sign-on";

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);
}
