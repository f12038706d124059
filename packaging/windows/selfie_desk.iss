; Inno Setup 6 script: a Windows installer around the PyInstaller bundle. UNTESTED: no Windows machine here.
;
; On Windows, from the repository root, after `make setup`'s equivalent (a venv with `pip install -e .[dev]`):
;   set SELFIE_DESK_VARIANT=cpu   (the default download: ONNX Runtime, no torch; gpu: torch with CUDA)
;   .venv\Scripts\pyinstaller --noconfirm --distpath dist --workpath build packaging\selfie_desk.spec
;   for /f %v in ('.venv\Scripts\python -c "import selfie_desk; print(selfie_desk.__version__)"') do set VERSION=%v
;   iscc /DAppVersion=%VERSION% packaging\windows\selfie_desk.iss
; The spec makes two executables on Windows: selfie-desk.exe (the window, no console) and selfie-desk-cli.exe
; (score, list, --self-test, with a console). Output: dist\selfie-desk-VERSION-windows-x64-setup.exe (+ .bin
; slices: the GPU build's CUDA torch makes a ~4 GB bundle, more than one Setup.exe may hold; the CPU build's
; ~0.4 GB needs none).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Selfie Desk"
#define AppExe "selfie-desk.exe"
#define Bundle "..\..\dist\selfie-desk"

[Setup]
; The AppId identifies the app for upgrades and uninstall: never change it.
AppId={{1356F8D4-833E-5A25-94AC-2BB47393FC18}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Selfie Desk
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=selfie-desk-{#AppVersion}-windows-x64-setup
; Fast over small: the bundle is mostly CUDA libraries that barely compress (see docs/packaging.md).
Compression=lzma2/fast
SolidCompression=no
DiskSpanning=yes
DiskSliceSize=max
UninstallDisplayIcon={app}\{#AppExe}
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
