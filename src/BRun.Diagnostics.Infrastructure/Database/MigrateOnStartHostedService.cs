using BRun.Diagnostics.Infrastructure.Database.Migrations;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Database;

/// <summary>
/// Applies migrations before the host serves anything when <see cref="DatabaseOptions.MigrateOnStart"/> is set.
/// Registered before the other hosted services, and hosted services start in order, so workers see the schema.
/// </summary>
internal sealed class MigrateOnStartHostedService(IOptions<DatabaseOptions> options, DatabaseMigrator migrator) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.MigrateOnStart)
        {
            await migrator.MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
