/** Compares dotted versions numerically: negative when a < b, 0 when equal, positive when a > b ('2.9' < '2.34'). */
export function compareVersions(a: string, b: string): number {
  const partsA = a.split('.').map(Number)
  const partsB = b.split('.').map(Number)

  for (let i = 0; i < Math.max(partsA.length, partsB.length); i++) {
    const difference = (partsA[i] ?? 0) - (partsB[i] ?? 0)
    if (difference !== 0) {
      return difference
    }
  }

  return 0
}
