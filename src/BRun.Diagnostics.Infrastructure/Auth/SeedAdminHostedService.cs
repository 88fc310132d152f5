using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Auth;

/// <summary>
/// On start, creates the configured admin when the database has no user yet, so a newcomer can sign in after
/// <c>./brun.sh run</c>. Registered after the migration hosted service, so the schema exists.
/// </summary>
internal sealed partial class SeedAdminHostedService(
    LocalAccountService accounts,
    IOptions<AuthOptions> options,
    ILogger<SeedAdminHostedService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (string.IsNullOrEmpty(o.SeedAdminPassword))
        {
            return;
        }

        var created = await accounts.CreateFirstAdminAsync(o.SeedAdminEmail, o.SeedAdminName, o.SeedAdminPassword, cancellationToken).ConfigureAwait(false);
        if (created is not null)
        {
            var isDemoPassword = o.SeedAdminPassword == AuthOptions.DemoAdminPassword;
            Log.SeededAdmin(logger, created.Email, isDemoPassword ? $"the demo password '{AuthOptions.DemoAdminPassword}'" : "the password from Auth:SeedAdminPassword");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "No user existed: created admin {Email}; sign in with {PasswordSource} and change it outside a demo")]
        public static partial void SeededAdmin(ILogger logger, string email, string passwordSource);
    }
}
