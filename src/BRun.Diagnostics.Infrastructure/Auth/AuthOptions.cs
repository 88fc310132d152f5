using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.Auth;

/// <summary>Local accounts and the demo admin (configuration section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>The documented demo password of the seeded admin. Change it (or the account) outside a demo.</summary>
    public const string DemoAdminPassword = "brun-demo-admin";

    /// <summary>Email of the admin created on first start when no user exists yet. Default: <c>admin@brun.local</c>.</summary>
    [Required]
    [EmailAddress]
    public string SeedAdminEmail { get; set; } = "admin@brun.local";

    /// <summary>
    /// Password of that admin, read once on the first start (set it with the environment variable
    /// <c>Auth__SeedAdminPassword</c>). Default: none. In demo mode (<c>Demo:Enabled</c>) an unset password means
    /// <see cref="DemoAdminPassword"/>, so a newcomer can sign in after <c>./brun.sh run</c>; outside demo mode the demo
    /// password is refused and no account with a known password is ever created. Empty: create no admin.
    /// </summary>
    public string? SeedAdminPassword { get; set; }

    /// <summary>Display name of the seeded admin. Default: <c>Admin</c>.</summary>
    [Required]
    public string SeedAdminName { get; set; } = "Admin";
}
