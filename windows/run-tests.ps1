#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Tests kchan on a Windows 10/11 x64 test machine: the signed driver under
    Driver Verifier, the end-to-end test programs and the kchan command.

.DESCRIPTION
    Run from the unpacked package, in an elevated PowerShell:

        powershell -ExecutionPolicy Bypass -File .\run-tests.ps1

    Steps: checks that test signing is on; imports the test certificate into
    the machine's Root and TrustedPublisher stores; turns on Driver Verifier's
    standard checks for kchan.sys (without a reboot where Windows allows it,
    otherwise it asks for one: reboot and run the script again); installs and
    starts the driver through the Service Control Manager (kchan driver
    install); runs every test program in tests\ and a smoke test of the kchan
    command; stops the driver, reads its leak report from the registry and
    uninstalls it. It ends with one line, "N passed, M failed", and the path
    of a log file to send back.

    Exit codes: 0 all passed, 1 something failed, 2 test signing is off,
    3 a reboot is needed for Driver Verifier (run the script again after it).

.PARAMETER NoVerifier
    Runs the tests without Driver Verifier.

.PARAMETER MonitorSeconds
    How long the smoke test runs `kchan monitor` (default 5).
#>
[CmdletBinding()]
param(
    [switch]$NoVerifier,
    [int]$MonitorSeconds = 5
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

$Here = $PSScriptRoot
$Kchan = Join-Path $Here 'kchan.exe'
$Sys = Join-Path $Here 'kchan.sys'
$Cer = Join-Path $Here 'kchan-test.cer'
$Log = Join-Path $Here ('kchan-test-{0:yyyyMMdd-HHmmss}.log' -f (Get-Date))
# Written when persistent Driver Verifier settings wait for a reboot.
$VerifierMarker = Join-Path $Here 'verifier-reboot-pending.txt'
$ServiceKey = 'HKLM:\SYSTEM\CurrentControlSet\Services\kchan'
# Driver Verifier's standard checks that Windows 10 can turn on without a
# reboot: special pool, IRQL checking, pool tracking, I/O verification,
# deadlock detection, DMA checking, security checks, miscellaneous checks.
$VolatileStandardFlags = '0x9BB'

$script:Passed = 0
$script:Failed = 0

function Write-Log {
    param([Parameter(ValueFromPipeline = $true)] [AllowEmptyString()] [string]$Text)
    process {
        Add-Content -LiteralPath $Log -Value $Text
        Write-Host $Text
    }
}

function Add-Result {
    param([string]$Name, [bool]$Ok, [string]$Detail = '')
    if ($Ok) { $script:Passed++ } else { $script:Failed++ }
    $verdict = if ($Ok) { 'PASS' } else { 'FAIL' }
    Write-Log ("{0}  {1}{2}" -f $verdict, $Name, $(if ($Detail) { ": $Detail" } else { '' }))
}

# Runs a program, logs its output, returns its exit code and output lines.
function Invoke-Logged {
    param([string]$Program, [string[]]$Arguments)
    Write-Log ("> {0} {1}" -f $Program, ($Arguments -join ' '))
    # Windows PowerShell turns a native program's stderr lines into errors,
    # which 'Stop' would make fatal: here they are output to log.
    $ErrorActionPreference = 'Continue'
    $output = & $Program @Arguments 2>&1 | ForEach-Object { "$_" }
    $code = $LASTEXITCODE
    foreach ($line in $output) { Write-Log "  $line" }
    Write-Log "  (exit code $code)"
    return [pscustomobject]@{ Code = $code; Lines = @($output) }
}

function Stop-WithTotals {
    param([int]$Code)
    Write-Log ''
    Write-Log ("{0} passed, {1} failed" -f $script:Passed, $script:Failed)
    Write-Log "log: $Log"
    exit $Code
}

# --- The machine -----------------------------------------------------------

$os = Get-CimInstance Win32_OperatingSystem
Write-Log ("kchan tests on {0} {1} build {2} ({3}), {4}" -f $os.Caption, $os.Version, $os.BuildNumber,
    $os.OSArchitecture, (Get-Date -Format s))
Write-Log ("package: {0}" -f $Here)
try {
    $secureBoot = Confirm-SecureBootUEFI
} catch {
    $secureBoot = 'unknown (legacy BIOS or not reported)'
}
Write-Log "Secure Boot: $secureBoot"
try {
    $guard = Get-CimInstance -Namespace root\Microsoft\Windows\DeviceGuard -ClassName Win32_DeviceGuard
    Write-Log ("HVCI (memory integrity) running: {0}" -f ($guard.SecurityServicesRunning -contains 2))
} catch {
    Write-Log 'HVCI state: not reported'
}
$lastBoot = $os.LastBootUpTime
$crashes = Get-WinEvent -FilterHashtable @{ LogName = 'System'; Id = 1001; StartTime = (Get-Date).AddDays(-1) } `
    -MaxEvents 5 -ErrorAction SilentlyContinue | Where-Object { $_.Message -match 'bugcheck' }
foreach ($crash in @($crashes)) {
    Write-Log ("bugcheck reported at {0}: {1}" -f $crash.TimeCreated, ($crash.Message -split "`n")[0])
}

# --- Test signing ----------------------------------------------------------

# The options the running system booted with (not what the next boot will use).
$startOptions = (Get-ItemProperty 'HKLM:\SYSTEM\CurrentControlSet\Control').SystemStartOptions
if ($startOptions -notmatch 'TESTSIGNING') {
    Write-Log 'Test signing is off: Windows will not load a test-signed driver.'
    Write-Log 'Turn it on from an elevated prompt, then reboot and run this script again:'
    Write-Log ''
    Write-Log '    bcdedit /set testsigning on'
    Write-Log ''
    Write-Log 'Secure Boot forbids test signing: if bcdedit refuses ("protected by Secure Boot policy"),'
    Write-Log 'turn Secure Boot off in the firmware setup first (on a Hyper-V VM:'
    Write-Log 'Set-VMFirmware -VMName <name> -EnableSecureBoot Off, with the VM off).'
    Write-Log "log: $Log"
    exit 2
}
Add-Result 'test signing is on' $true

# --- The certificate and the signature ------------------------------------

foreach ($store in 'Root', 'TrustedPublisher') {
    $imported = Import-Certificate -FilePath $Cer -CertStoreLocation "Cert:\LocalMachine\$store"
    Write-Log ("certificate {0} in LocalMachine\{1}" -f $imported.Thumbprint, $store)
}
$signature = Get-AuthenticodeSignature -LiteralPath $Sys
Add-Result 'kchan.sys has a valid signature from the test certificate' ($signature.Status -eq 'Valid') `
    ("{0}: {1}" -f $signature.Status, $signature.StatusMessage)

# --- Driver Verifier -------------------------------------------------------

# Leftovers of an earlier run: the driver is installed afresh from this package.
Invoke-Logged $Kchan @('driver', 'uninstall') | Out-Null

$verifier = 'off'
if ($NoVerifier) {
    Write-Log 'Driver Verifier: skipped (-NoVerifier)'
} elseif (Test-Path -LiteralPath $VerifierMarker) {
    $recorded = [datetime]::Parse((Get-Content -LiteralPath $VerifierMarker -Raw).Trim(), $null,
        [Globalization.DateTimeStyles]::RoundtripKind)
    if ($lastBoot -le $recorded) {
        Write-Log 'Driver Verifier settings for kchan.sys wait for a reboot: reboot, then run this script again.'
        Stop-WithTotals 3
    }
    Remove-Item -LiteralPath $VerifierMarker
    $verifier = 'persistent'
} else {
    # Windows 10 turns the standard checks on for a driver without a reboot
    # (volatile settings); Windows 11 accepts only a few flags that way.
    $volatile = $false
    if ([int]$os.BuildNumber -lt 22000) {
        $flags = Invoke-Logged 'verifier.exe' @('/volatile', '/flags', $VolatileStandardFlags)
        $add = Invoke-Logged 'verifier.exe' @('/volatile', '/adddriver', 'kchan.sys')
        $volatile = ($flags.Code -eq 0) -and ($add.Code -eq 0)
    }
    if ($volatile) {
        $verifier = 'volatile'
    } else {
        Invoke-Logged 'verifier.exe' @('/standard', '/driver', 'kchan.sys') | Out-Null
        Set-Content -LiteralPath $VerifierMarker -Value ($lastBoot.ToString('o'))
        Write-Log ''
        Write-Log 'Driver Verifier needs a reboot to check kchan.sys with its standard settings on this Windows.'
        Write-Log 'Reboot, then run this script again: it resumes from here.'
        Stop-WithTotals 3
    }
}
Write-Log "Driver Verifier: $verifier"

# --- Install and start -----------------------------------------------------

$install = Invoke-Logged $Kchan @('driver', 'install')
Add-Result 'kchan driver install (service created and started)' ($install.Code -eq 0)
$status = Invoke-Logged $Kchan @('driver', 'status')
Add-Result 'kchan driver status: \\.\kchan opens' ($status.Code -eq 0)
if ($install.Code -ne 0) {
    Write-Log 'The driver did not start; nothing else can run. (Error 577: the signature was refused.)'
    Stop-WithTotals 1
}
if ($verifier -ne 'off') {
    $query = Invoke-Logged 'verifier.exe' @('/query')
    Add-Result 'Driver Verifier verifies kchan.sys' (($query.Lines -join "`n") -match 'kchan\.sys')
}

# --- The end-to-end test programs ------------------------------------------

# One driver, channel-wide counters: each program runs its tests one at a time.
foreach ($test in Get-ChildItem -LiteralPath (Join-Path $Here 'tests') -Filter '*.exe' | Sort-Object Name) {
    $run = Invoke-Logged $test.FullName @('--test-threads=1')
    $summaries = @($run.Lines | Where-Object { $_ -match '^test result: \w+\. (\d+) passed; (\d+) failed' })
    if ($summaries.Count -eq 0) {
        Add-Result "tests\$($test.Name)" $false "no test summary (crashed or did not start, exit code $($run.Code))"
        continue
    }
    foreach ($summary in $summaries) {
        $null = $summary -match '^test result: \w+\. (\d+) passed; (\d+) failed'
        $script:Passed += [int]$Matches[1]
        $script:Failed += [int]$Matches[2]
        Write-Log ("{0}  tests\{1}: {2} passed, {3} failed" -f $(if ([int]$Matches[2] -eq 0) { 'PASS' } else { 'FAIL' }),
            $test.Name, $Matches[1], $Matches[2])
    }
    if ($run.Code -ne 0 -and ($summaries | Where-Object { $_ -match ' 0 failed' }).Count -eq $summaries.Count) {
        Add-Result "tests\$($test.Name)" $false "exit code $($run.Code) with no failed test"
    }
}

# --- The kchan command -----------------------------------------------------

$stats = Invoke-Logged $Kchan @('stats')
Add-Result 'kchan stats' (($stats.Code -eq 0) -and (($stats.Lines -join "`n") -match 'published'))
$gen = Invoke-Logged $Kchan @('gen', '--rate', '10000', '--size', '32', '--seconds', '2')
Add-Result 'kchan gen' (($gen.Code -eq 0) -and (($gen.Lines -join "`n") -match 'stopped after'))
$monitor = Invoke-Logged $Kchan @('monitor', '--seconds', "$MonitorSeconds", '--gen-rate', '20000')
Add-Result "kchan monitor for $MonitorSeconds s" ($monitor.Code -eq 0)

# --- Unload, leak report, uninstall ----------------------------------------

foreach ($name in 'LastUnloadLiveAllocations', 'LastUnloadLiveBytes', 'LastUnloadDroppedRecords') {
    Remove-ItemProperty -LiteralPath $ServiceKey -Name $name -ErrorAction SilentlyContinue
}
$stop = Invoke-Logged $Kchan @('driver', 'stop')
Add-Result 'kchan driver stop (DriverUnload ran)' ($stop.Code -eq 0)
$report = Get-ItemProperty -LiteralPath $ServiceKey -ErrorAction SilentlyContinue
$allocs = if ($report -and ($report.PSObject.Properties.Name -contains 'LastUnloadLiveAllocations')) {
    $report.LastUnloadLiveAllocations } else { $null }
$bytes = if ($report -and ($report.PSObject.Properties.Name -contains 'LastUnloadLiveBytes')) {
    $report.LastUnloadLiveBytes } else { $null }
Add-Result 'leak report: nothing allocated at the end of DriverUnload' (($allocs -eq 0) -and ($bytes -eq 0)) `
    "allocations $allocs, bytes $bytes"
# Windows unloads only once every handle is closed: their CLEANUP counted
# what their rings held, and the unload finds none.
$dropped = if ($report -and ($report.PSObject.Properties.Name -contains 'LastUnloadDroppedRecords')) {
    $report.LastUnloadDroppedRecords } else { $null }
Add-Result 'unload report: no records left in rings at DriverUnload' ($dropped -eq 0) "records $dropped"
$uninstall = Invoke-Logged $Kchan @('driver', 'uninstall')
Add-Result 'kchan driver uninstall' ($uninstall.Code -eq 0)

if ($verifier -eq 'volatile') {
    Invoke-Logged 'verifier.exe' @('/volatile', '/removedriver', 'kchan.sys') | Out-Null
} elseif ($verifier -eq 'persistent') {
    Invoke-Logged 'verifier.exe' @('/reset') | Out-Null
    Write-Log 'Driver Verifier settings were reset; they end with the next reboot.'
}

Stop-WithTotals $(if ($script:Failed -eq 0) { 0 } else { 1 })
