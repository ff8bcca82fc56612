/** The parts of a LinuxKit configuration that nslab reads after validation (see linuxkit-schema.ts). */
export interface LinuxkitImage {
  name: string;
  image: string;
  command?: string[];
  env?: string[];
  binds?: string[];
  'binds.add'?: string[];
  capabilities?: string[];
  [key: string]: unknown;
}

export interface LinuxkitFile {
  path: string;
  directory?: boolean;
  symlink?: string;
  contents?: string;
  source?: string;
  metadata?: string;
  optional?: boolean;
  mode?: string;
  uid?: string | number;
  gid?: string | number;
}

export interface LinuxkitConfig {
  kernel?: { image?: string; cmdline?: string; binary?: string; tar?: string; ucode?: string };
  init?: string[];
  onboot?: LinuxkitImage[];
  onshutdown?: LinuxkitImage[];
  services?: LinuxkitImage[];
  files?: LinuxkitFile[];
  volumes?: { name: string; image?: string; readonly?: boolean; format?: string; platforms?: string[] }[];
  trust?: { image?: string[]; org?: string[] };
}
