// What the program needs to know about GPU instance types: how many network cards take an EFA
// interface (AWS "Supported instance types" for EFA and each type's network specifications).
// A type not listed runs without EFA: NCCL falls back to TCP, slower but correct.
export const EFA_NETWORK_CARDS: Readonly<Record<string, number>> = {
  "p4d.24xlarge": 4,
  "p4de.24xlarge": 4,
  "p5.48xlarge": 32,
  "p5e.48xlarge": 32,
  "p5en.48xlarge": 16,
};

export function efaCards(instanceType: string): number {
  return EFA_NETWORK_CARDS[instanceType] ?? 0;
}
