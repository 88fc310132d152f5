using BRun.Diagnostics.Core.Hosting;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Blobs;
using BRun.Diagnostics.Infrastructure.Datasets;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Database.Migrations;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Pricing;
using BRun.Diagnostics.Infrastructure.Telemetry;
using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure;

/// <summary>Registers the database, migrations, blob reports and failure stores. The Claude client registers separately.</summary>
public static class InfrastructureServiceCollectionExtensions
{
    public static IServiceCollection AddDiagnosticsInfrastructure(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<DatabaseOptions>()
            .Bind(configuration.GetSection(DatabaseOptions.SectionName))
            .Configure(o => o.ConnectionString ??= configuration.GetConnectionString("Postgres"))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<BlobStorageOptions>()
            .Bind(configuration.GetSection(BlobStorageOptions.SectionName))
            .Configure(o => o.ConnectionString ??= configuration.GetConnectionString("Blobs"))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<DemoOptions>()
            .Bind(configuration.GetSection(DemoOptions.SectionName))
            .ValidateOnStart();
        services.AddOptions<ReportUploadOptions>()
            .Bind(configuration.GetSection(ReportUploadOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddOptions<PricingOptions>()
            .Bind(configuration.GetSection(PricingOptions.SectionName))
            .Validate(o => o.Models.Values.All(m => m.InputPerMTok >= 0 && m.OutputPerMTok >= 0 && m.CacheWritePerMTok >= 0 && m.CacheReadPerMTok >= 0),
                "Pricing:Models prices must not be negative.")
            .ValidateOnStart();
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<PricingOptions>>().Value.ToPriceTable());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp =>
        {
            var builder = new NpgsqlDataSourceBuilder(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.ConnectionString);
            DatabaseSessionDefaults.Apply(builder.ConnectionStringBuilder);
            if (sp.GetService<ILoggerFactory>() is { } loggerFactory)
            {
                builder.UseLoggerFactory(loggerFactory);
            }

            builder.ConfigureTracing(tracing => tracing
                .ConfigureCommandFilter(_ => TaskTracing.DatabaseWorkTraced)
                .ConfigureBatchFilter(_ => TaskTracing.DatabaseWorkTraced));
            return builder.Build();
        });
        services.TryAddSingleton<IUserScopedConnectionFactory, UserScopedConnectionFactory>();
        services.TryAddSingleton(sp => new DatabaseMigrator(
            sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<ILogger<DatabaseMigrator>>()));

        services.TryAddSingleton<IFailureReportBlobStore, AzureFailureReportBlobStore>();
        services.TryAddSingleton(sp => ActivatorUtilities.CreateInstance<ReportUploader>(sp));
        services.TryAddSingleton(sp => new FailedGenerationStore(
            sp.GetRequiredService<IUserScopedConnectionFactory>(),
            sp.GetRequiredService<ReportUploader>(),
            sp.GetRequiredService<IOptions<ReportUploadOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<FailedGenerationStore>>()));
        services.TryAddSingleton(sp => new FailedGenerationReader(
            sp.GetRequiredService<IUserScopedConnectionFactory>(),
            sp.GetRequiredService<IFailureReportBlobStore>(),
            sp.GetRequiredService<ILogger<FailedGenerationReader>>()));
        services.TryAddSingleton(sp => new ReportUploadRetrier(
            sp.GetRequiredService<IUserScopedConnectionFactory>(),
            sp.GetRequiredService<ReportUploader>(),
            sp.GetRequiredService<IOptions<ReportUploadOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ReportUploadRetrier>>()));
        services.TryAddSingleton<AppUserStore>();
        services.TryAddSingleton<ResponseValidator>();
        services.TryAddSingleton<DatasetImporter>();
        services.TryAddSingleton<QuarantineScanner>();
        services.TryAddSingleton<TrainingExporter>();
        services.TryAddSingleton<DatasetReader>();

        // Migration first: hosted services start in registration order, and the retrier needs the schema.
        services.AddHostedService<MigrateOnStartHostedService>();
        services.AddHostedService(sp => sp.GetRequiredService<ReportUploadRetrier>());
        return services;
    }
}
