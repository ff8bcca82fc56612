export { gatherDoctorFacts, type DoctorFacts } from './facts.ts';
export { doctorReport, type DoctorReport, type DoctorItem, type Mark, type TrialFailure } from './checks.ts';
export { formatDoctor } from './format.ts';
