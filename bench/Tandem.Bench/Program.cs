using BenchmarkDotNet.Running;
using Tandem.Bench;

// dotnet run -c Release --project bench/Tandem.Bench -- load [--seconds N] [--connections N] [--suppressed N]
// dotnet run -c Release --project bench/Tandem.Bench -- profile-api [--profiles N] [--connections 4,8,16,32] [--seconds N]
// dotnet run -c Release --project bench/Tandem.Bench -- process [--profiles N] [--events N] [--data DIR] [--keep]
// dotnet run -c Release --project bench/Tandem.Bench -- fuzz [--minutes N] [--seed S] [--case CASE_SEED]
// dotnet run -c Release --project bench/Tandem.Bench -- micro [BenchmarkDotNet arguments]
if (args.Length > 0 && args[0] == "load")
{
    return await CollectorLoad.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "profile-api")
{
    return await ProfileApiLoad.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "process")
{
    return await ProcessorLoad.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "fuzz")
{
    return await CollectorFuzz.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(CollectorLoad).Assembly).Run(args.Length > 0 && args[0] == "micro" ? args[1..] : args);
return 0;
