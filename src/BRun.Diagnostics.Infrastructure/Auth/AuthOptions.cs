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
    /// Password of that admin. Default: <c>brun-demo-admin</c> (<see cref="DemoAdminPassword"/>), so a newcomer
    /// can sign in after <c>./brun.sh run</c>. Set it to an empty string to create no admin on start.
    /// </summary>
    public string? SeedAdminPassword { get; set; } = DemoAdminPassword;

    /// <summary>Display name of the seeded admin. Default: <c>Admin</c>.</summary>
    [Required]
    public string SeedAdminName { get; set; } = "Admin";
}
